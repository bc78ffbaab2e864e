using System.Runtime.InteropServices;
using Jex.Protocol.Contract;
using Jex.Runtime.Configuration;
using Jex.Runtime.Deploy;
using Jex.Runtime.Hosting;
using Jex.Runtime.Transports.Grpc;
using Jex.Runtime.UserCode;
using Jex.Transport.SharedMemory;
using Microsoft.Extensions.Options;
using Serilog;
using Serilog.Events;
using Serilog.Extensions.Logging;
using Serilog.Formatting.Compact;
using HostLog = Jex.Runtime.Diagnostics.HostLog;
using Log = Jex.Runtime.Diagnostics.Log;

namespace Jex.Runtime;

internal static partial class Program
{
    /// <summary>Exit codes: 0 stopped cleanly, 2 configuration error, 3 user code failed to load, 1 anything else.</summary>
    public static int Main(string[] args)
    {
        // Files the runtime creates (socket, shared memory) are the owner's only.
        _ = LibC.Umask(0x3F);
        StartupTrace.Mark("main");

        if (Usage.TryAnswer(args, Console.Out) is { } answered)
        {
            return answered;
        }

        var (configuration, environmentName) = CreateConfiguration(args);
        var problems = new List<string>();
        var options = UserCodeBinding.Bind(configuration, problems);
        StartupTrace.Mark("options bound");
        // Before validation, so every rule about the token (and the host's own binding) sees it;
        // with UserCode:Token also set, the validator reports the conflict instead.
        string? tokenFromFile = null;
        if (!string.IsNullOrEmpty(options.TokenFile) && string.IsNullOrEmpty(options.Token))
        {
            if (TokenFile.Read(options.TokenFile, out var tokenError) is not { } fileToken)
            {
                return ConfigurationError([.. problems, tokenError ?? $"UserCode:TokenFile '{options.TokenFile}' cannot be read"]);
            }

            // From here on the token is just UserCode:Token; Run hands it to the host's own
            // binding of the options, so the file is read once.
            options.Token = fileToken;
            options.TokenFile = null;
            tokenFromFile = fileToken;
        }

        problems.AddRange(UserCodeOptionsValidator.Validate(options));
        if (problems.Count > 0)
        {
            return ConfigurationError(problems);
        }

        if (options.Transport != TransportKind.Grpc && !TransportRegistry.IsAvailable(options.Transport))
        {
            return ConfigurationError([$"UserCode:Transport '{options.Transport.ToWire()}' is not available in this build; use {TransportKinds.GrpcName}"]);
        }

        GrpcEndpoint? endpoint = null;
        if (options.Transport == TransportKind.Grpc)
        {
            try
            {
                endpoint = GrpcEndpoint.Prepare(options);
            }
            catch (GrpcEndpointException e)
            {
                return ConfigurationError([e.Message]);
            }
        }

        MetricsListener? metrics;
        try
        {
            metrics = MetricsListener.Prepare(options);
        }
        catch (GrpcEndpointException e)
        {
            return ConfigurationError([e.Message]);
        }

        var serilog = CreateLogger(options, configuration);
        StartupTrace.Mark("serilog created");
        VersionStore? store = null;
        string? deploySocketToRemove = null;
        try
        {
            if (options.Deploy.Enabled)
            {
                try
                {
                    store = VersionStore.Create(options, new SerilogLoggerFactory(serilog).CreateLogger("Jex.Runtime.Deploy"));
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    return ConfigurationError([$"UserCode:CodeDir '{options.CodeDir ?? "(default)"}' cannot be created: {e.Message.TrimEnd('.')}; give a folder this user may write"]);
                }

                // A forced exit (parent gone) removes it too; the graceful path does below.
                ExitCleanup.Register(store.Dispose);
                if (Transports.SharedMemory.SharedMemoryListener.IsSharedMemory(options)
                    && Transports.SharedMemory.SharedMemoryListener.DeploySocket(options) is { } deploySocket)
                {
                    var kind = GrpcEndpoint.FileKind(deploySocket);
                    if (kind is not (null or "socket"))
                    {
                        return ConfigurationError([$"UserCode:Deploy:Socket '{deploySocket}' already exists and is a {kind}, not a socket: the runtime does not delete it; remove it or choose another path"]);
                    }

                    // A socket left there by a runtime that died.
                    File.Delete(deploySocket);
                    ExitCleanup.Register(() => File.Delete(deploySocket));
                    deploySocketToRemove = deploySocket;
                }
            }


            // Startup: the user code loads (assembly loading, signature checks, binders) on another core
            // while the host is built. It is awaited before anything uses it and before the server
            // starts, so a load failure still exits with code 3 before the ready line.
            var loading = Task.Run(() => LoadUserCode(options, serilog));

            // Shared memory serves, and says ready, before the host is built: it needs only the
            // user code, the file and a session processor. gRPC needs Kestrel, so it waits for it.
            using var lifetime = new EarlyLifetime();
            EarlyTransport? early = null;
            PosixSignalRegistration[] earlySignals = [];
            if (TransportRegistry.StartsEarly(options))
            {
                // The member may send SIGTERM as soon as it sees the ready line, before the host
                // (and its console lifetime) exists: without this, .NET's default would end the
                // process at once instead of draining. Recorded now, passed to the host once built.
                earlySignals =
                [
                    PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnEarlySignal),
                    PosixSignalRegistration.Create(PosixSignal.SIGINT, OnEarlySignal),
                ];

                void OnEarlySignal(PosixSignalContext context)
                {
                    context.Cancel = true;
                    lifetime.StopApplication();
                }

                early = TransportRegistry.StartEarly(options, loading.GetAwaiter().GetResult(), new SerilogLoggerFactory(serilog), lifetime, metrics?.Url);
                StartupTrace.Mark("transport started early");
            }

            try
            {
                var builder = CreateBuilder(args, configuration, environmentName);
                StartupTrace.Mark("builder created");
                if (tokenFromFile is not null)
                {
                    // The host binds UserCode again from the configuration, which still names the
                    // file and not the token; PostConfigure runs before its validation.
                    builder.Services.PostConfigure<UserCodeOptions>(o =>
                    {
                        o.Token = tokenFromFile;
                        o.TokenFile = null;
                    });
                }

                return Run(builder, options, endpoint, metrics, serilog, loading, early, lifetime, store);
            }
            finally
            {
                foreach (var registration in earlySignals)
                {
                    registration.Dispose();
                }
            }
        }
        catch (UserCodeLoadException e)
        {
            serilog.Fatal("{Reason}", e.Message);
            Console.Error.WriteLine("jex-runtime: " + e.Message);
            return 3;
        }
        catch (OptionsValidationException e)
        {
            return ConfigurationError(e.Failures);
        }
        finally
        {
            store?.Dispose();
            if (deploySocketToRemove is not null)
            {
                File.Delete(deploySocketToRemove);
            }

            serilog.Dispose();
        }
    }

    /// <summary>One stderr line per problem, each naming its key; exit code 2.</summary>
    private static int ConfigurationError(IEnumerable<string> problems)
    {
        foreach (var problem in problems)
        {
            Console.Error.WriteLine("jex-runtime: configuration error: " + problem);
        }

        return 2;
    }

    private static int Run(
        WebApplicationBuilder builder, UserCodeOptions options, GrpcEndpoint? endpoint, MetricsListener? metrics, Serilog.Core.Logger serilog, Task<CodeVersions> loading, EarlyTransport? early, EarlyLifetime lifetime, VersionStore? store)
    {
        if (early is not null)
        {
            // The processor and listener already serving are the ones the host knows and stops.
            builder.Services.AddSingleton(early.Processor);
            builder.Services.AddTransportListener(early.Listener);

            // SIGTERM/SIGINT are already handled by the early registrations, which hold a stop until
            // the host has started. The console lifetime would stop the host while it is starting,
            // and a host stopped mid-start throws instead of draining the sessions already served.
            builder.Services.AddSingleton<IHostLifetime, SignalFreeLifetime>();
        }

        builder.Logging.ClearProviders();
        builder.Services.AddSerilog(serilog, dispose: false);
        builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = TimeSpan.FromSeconds(options.DrainTimeoutSeconds));
        builder.Services.AddJexRuntime(builder.Configuration, _ => loading.GetAwaiter().GetResult());
        builder.Services.AddRuntimeTelemetry(options);
        if (metrics is not null)
        {
            builder.Services.AddSingleton(metrics);
        }

        if (store is not null)
        {
            builder.Services.AddSingleton(store);
        }

        if (endpoint is not null)
        {
            builder.Services.AddSingleton(endpoint);
            builder.Services.AddTransportListener<GrpcListener>();
        }

        var isGrpc = endpoint is not null;
        var socketPath = endpoint?.SocketPath;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = null;
            // Large windows keep a stream of batches flowing without waiting for WINDOW_UPDATEs.
            kestrel.Limits.Http2.InitialConnectionWindowSize = 16 * 1024 * 1024;
            kestrel.Limits.Http2.InitialStreamWindowSize = 8 * 1024 * 1024;
            kestrel.Limits.Http2.MaxStreamsPerConnection = 1024;
            // A connection over the cap is closed at once; Kestrel logs it at Warning.
            kestrel.Limits.MaxConcurrentConnections = options.MaxConnections;
            kestrel.Limits.MaxConcurrentUpgradedConnections = options.MaxConnections;
            if (!isGrpc)
            {
                TransportRegistry.ConfigureKestrel(kestrel, options);
            }
            else
            {
                endpoint!.Listen(kestrel);
                if (socketPath is not null)
                {
                    ExitCleanup.Register(() => File.Delete(socketPath));
                }
            }

            metrics?.Listen(kestrel);
        });

        StartupTrace.Mark("services added");
        var app = builder.Build();
        lifetime.Attach(app.Lifetime);
        StartupTrace.Mark("host built");
        app.MapGrpcService<UserCodeService>();
        app.MapGrpcHealthChecksService();
        app.MapRuntimeTelemetry(metrics);
        if (store is not null)
        {
            app.MapGrpcService<DeployService>();
        }

        StartupTrace.Mark("endpoints mapped");
        // A load failure surfaces here, before the server starts: exit 3 and no ready line.
        _ = loading.GetAwaiter().GetResult();
        StartupTrace.Mark("user code awaited");

        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Jex.Runtime");
        if (endpoint?.Certificate is { } certificate)
        {
            HostLog.TlsEnabled(logger, certificate.Subject, certificate.NotAfter.ToUniversalTime(), options.Grpc.ClientCertificate.Mode);
        }

        if (endpoint is { AnonymousOnNetwork: true })
        {
            HostLog.AnonymousOnNetwork(logger, options.Grpc.Address);
        }

        StartupTrace.Mark("starting host");
        app.Run();

        return 0;
    }

    /// <summary>
    /// The configuration, built before the host so the user code can start loading without waiting
    /// for the host builder. The sources are the Microsoft.Extensions.Hosting defaults, in the same
    /// order (later wins): appsettings.json, appsettings.{Environment}.json, environment variables,
    /// command line. Files are read once: a forked runtime never reloads, and a file watcher costs
    /// startup time. The environment comes, as in Hosting, from DOTNET_ENVIRONMENT,
    /// ASPNETCORE_ENVIRONMENT or --environment; default Production.
    /// </summary>
    private static (ConfigurationManager Configuration, string EnvironmentName) CreateConfiguration(string[] args)
    {
        var host = new ConfigurationBuilder()
            .AddEnvironmentVariables("ASPNETCORE_")
            .AddEnvironmentVariables("DOTNET_")
            .AddCommandLine(args)
            .Build();
        var environmentName = host[HostDefaults.EnvironmentKey] is { Length: > 0 } e ? e : Environments.Production;
        var configuration = new ConfigurationManager();
        configuration.AddJsonFile("appsettings.json", optional: true, reloadOnChange: false);
        configuration.AddJsonFile($"appsettings.{environmentName}.json", optional: true, reloadOnChange: false);
        configuration.AddEnvironmentVariables();
        configuration.AddCommandLine(args);
        return (configuration, environmentName);
    }

    /// <summary>
    /// The host with only what the runtime uses. CreateSlimBuilder would also add a console logger
    /// (replaced by Serilog anyway), the file watcher, host filtering and Kestrel's configuration and
    /// HTTPS setup, which cost startup time for nothing (docs/performance.md, "Startup").
    /// </summary>
    private static WebApplicationBuilder CreateBuilder(string[] args, IConfiguration configuration, string environmentName)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { Args = args, EnvironmentName = environmentName });
        builder.Configuration.AddConfiguration(configuration, shouldDisposeConfiguration: true);
        builder.WebHost.UseKestrelCore();
        // Socket reads and writes run Kestrel's HTTP/2 code on the thread that completed them: one
        // hand-off less per message each way. Safe because user code never runs on such a thread
        // (Session.RunInline), and a drained call stays open until the member has ended its side
        // (UserCodeService.AwaitMemberEndAsync), so the faster close cannot cut off its last messages.
        builder.WebHost.UseSockets(o => o.UnsafePreferInlineScheduling = true);
        return builder;
    }

    /// <summary>
    /// The startup code (none when deploy is on and UserCode:Path is not set: the runtime starts
    /// empty), as one fixed version, or with deploy as version "v0" of a registry that can load more.
    /// </summary>
    private static CodeVersions LoadUserCode(UserCodeOptions options, Serilog.Core.Logger serilog)
    {
        StartupTrace.Mark("user code: loading");
        FunctionCatalog? catalog = null;
        if (!string.IsNullOrWhiteSpace(options.Path))
        {
            using var loadLoggers = new SerilogLoggerFactory(serilog);
            catalog = Load(options.Path, loadLoggers);
        }

        StartupTrace.Mark("user code: loaded");
        if (!options.Deploy.Enabled)
        {
            return CodeVersions.Fixed(catalog!);
        }

        // User code of later versions logs through this factory for the runtime's life.
        var deployLoggers = new SerilogLoggerFactory(serilog);
        return CodeVersions.Deployable(dir => Load(dir, deployLoggers), deployLoggers.CreateLogger("Jex.Runtime.Deploy"), catalog, options.Path);
    }

    /// <summary>Loads a folder or .dll with codecs of its own: each version gets its own JSON options and type caches.</summary>
    private static FunctionCatalog Load(string path, ILoggerFactory loggers)
    {
        var catalog = UserCodeLoader.Load(path, loggers, PayloadCodecs.CreateDefault());
        var loadLog = loggers.CreateLogger("Jex.Runtime.UserCode");
        foreach (var f in catalog.All)
        {
            Log.FunctionLoaded(loadLog, f.Name, f.MethodDisplayName, f.Signature.Input, f.Signature.Output, f.AssemblyPath);
        }

        return catalog;
    }

    private static Serilog.Core.Logger CreateLogger(UserCodeOptions options, IConfiguration configuration)
    {
        var level = Enum.TryParse<LogEventLevel>(options.LogLevel, ignoreCase: true, out var parsed) ? parsed : LogEventLevel.Information;
        var config = new LoggerConfiguration()
            .MinimumLevel.Is(level)
            .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
            .MinimumLevel.Override("Grpc", LogEventLevel.Warning)
            .Enrich.FromLogContext();
        if (configuration.GetSection("Serilog").Exists())
        {
            config.ReadFrom.Configuration(configuration);
        }

        var json = options.LogFormat == LogFormat.Json || (options.LogFormat == LogFormat.Auto && Console.IsErrorRedirected);
        // Logs go to stderr so that stdout carries only the ready line.
        if (json)
        {
            config.WriteTo.Console(new CompactJsonFormatter(), standardErrorFromLevel: LogEventLevel.Verbose);
        }
        else
        {
            config.WriteTo.Console(
                outputTemplate: "[{Timestamp:HH:mm:ss.fff} {Level:u3}] {SourceContext}: {Message:lj}{NewLine}{Exception}",
                standardErrorFromLevel: LogEventLevel.Verbose);
        }

        return config.CreateLogger();
    }
}
