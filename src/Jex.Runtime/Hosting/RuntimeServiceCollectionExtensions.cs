using Jex.Runtime.Configuration;
using Jex.Runtime.Deploy;
using Jex.Runtime.Dispatch;
using Jex.Runtime.Hosting;
using Jex.Runtime.Transports.Grpc;
using Jex.Runtime.UserCode;
using Grpc.AspNetCore.Server;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

internal static class RuntimeServiceCollectionExtensions
{
    /// <summary>
    /// Adds the Jex runtime: options from the <c>UserCode</c> section (validated at start), the
    /// loaded functions, the session processor both transports share, the gRPC service with health
    /// checks, and the parent-process watcher.
    /// </summary>
    public static IServiceCollection AddJexRuntime(this IServiceCollection services, IConfiguration configuration, FunctionCatalog catalog) =>
        services.AddJexRuntime(configuration, _ => catalog);

    /// <summary>
    /// The same, with the functions from a factory: the host can be built while the user code is
    /// still loading, as long as the catalog is resolved only after the load finished.
    /// </summary>
    public static IServiceCollection AddJexRuntime(this IServiceCollection services, IConfiguration configuration, Func<IServiceProvider, FunctionCatalog> catalog)
    {
        services.TryAddSingleton(catalog);
        return services.AddJexRuntime(configuration, sp => CodeVersions.Fixed(sp.GetRequiredService<FunctionCatalog>()));
    }

    /// <summary>The same, with the user code over time (deploy on, or one fixed version) from a factory.</summary>
    public static IServiceCollection AddJexRuntime(this IServiceCollection services, IConfiguration configuration, Func<IServiceProvider, CodeVersions> versions)
    {
        services.AddOptions<UserCodeOptions>()
            .Configure(o =>
            {
                var problems = new List<string>();
                UserCodeBinding.Bind(configuration, o, problems);
                if (problems.Count > 0)
                {
                    throw new OptionsValidationException(Microsoft.Extensions.Options.Options.DefaultName, typeof(UserCodeOptions), problems);
                }
            })
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<UserCodeOptions>, UserCodeOptionsValidator>());
        services.TryAddSingleton(versions);
        services.TryAddSingleton<RuntimeCounters>();
        services.TryAddSingleton(sp => new SessionProcessor(
            sp.GetRequiredService<CodeVersions>(), sp.GetRequiredService<IOptions<UserCodeOptions>>(), sp.GetRequiredService<RuntimeCounters>(),
            sp.GetRequiredService<ILoggerFactory>(), sp.GetRequiredService<IHostApplicationLifetime>()));
        services.AddHostedService<ParentWatcher>();
        services.AddGrpc();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<GrpcServiceOptions>, GrpcServiceLimits>());
        services.TryAddSingleton<GrpcSessions>();
        services.AddGrpcHealthChecks().AddCheck<RuntimeHealthCheck>("jex-runtime");
        return services;
    }

    /// <summary>
    /// Adds the transport listener the host starts once it has started and drains when it stops
    /// (<see cref="TransportListenerService"/>). One per runtime: the first registered wins.
    /// </summary>
    public static IServiceCollection AddTransportListener<TListener>(this IServiceCollection services)
        where TListener : class, ITransportListener
    {
        services.TryAddSingleton<ITransportListener, TListener>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, TransportListenerService>());
        return services;
    }

    /// <summary>The same, for a listener that already serves (shared memory starts before the host is built).</summary>
    public static IServiceCollection AddTransportListener(this IServiceCollection services, ITransportListener listener)
    {
        services.TryAddSingleton(listener);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, TransportListenerService>());
        return services;
    }
}
