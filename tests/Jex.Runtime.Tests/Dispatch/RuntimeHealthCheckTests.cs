using Jex.Runtime.Configuration;
using Jex.Runtime.Dispatch;
using Jex.Runtime.UserCode;
using Jex.Testing.Shared;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Jex.Runtime.Tests.Dispatch;

/// <summary>What grpc.health.v1 reports for the whole server, from the processor's state.</summary>
public sealed class RuntimeHealthCheckTests
{
    public static class Functions
    {
        public static string Echo(string value) => value;
    }

    [Fact]
    public async Task WithUserCodeLoaded_IsHealthy_AndOnceStopping_IsUnhealthySayingItDrains()
    {
        using var lifetime = new TestApplicationLifetime();
        using var processor = Processor(lifetime, nameof(Functions.Echo));
        var health = new RuntimeHealthCheck(processor);
        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync(new HealthCheckContext())).Status);

        lifetime.StopApplication();
        var report = await health.CheckHealthAsync(new HealthCheckContext());
        Assert.Equal(HealthStatus.Unhealthy, report.Status);
        Assert.Contains("draining", report.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithNoFunctionLoaded_IsUnhealthy()
    {
        using var lifetime = new TestApplicationLifetime();
        using var processor = Processor(lifetime);
        var report = await new RuntimeHealthCheck(processor).CheckHealthAsync(new HealthCheckContext());
        Assert.Equal(HealthStatus.Unhealthy, report.Status);
        Assert.Contains("no user code is loaded", report.Description, StringComparison.Ordinal);
    }

    private static SessionProcessor Processor(TestApplicationLifetime lifetime, params string[] names)
    {
        var codecs = new PayloadCodecs();
        var catalog = names.ToDictionary(n => n, n => new FunctionDescriptor(n, n, "test", FunctionInvokerFactory.Create(typeof(Functions).GetMethod(n)!, null, codecs)));
        return new SessionProcessor(new FunctionCatalog(catalog, codecs), Options.Create(new UserCodeOptions()), new RuntimeCounters(), NullLoggerFactory.Instance, lifetime);
    }
}
