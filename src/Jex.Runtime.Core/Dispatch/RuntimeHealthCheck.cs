using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Jex.Runtime.Dispatch;

/// <summary>
/// What the gRPC health service (<c>grpc.health.v1.Health</c>) reports (docs/observability.md):
/// SERVING only with user code loaded; NOT_SERVING while the runtime drains (SIGTERM), while a
/// call is stuck past its deadline, or with no function to serve, so an operator or a member
/// knows to send its work elsewhere or recycle the process.
/// </summary>
/// <remarks>
/// The listener starts only after the user code loaded (a load that fails exits 3), so before
/// that there is no answer at all rather than a wrong one. A catalog with no function (live code
/// before its first version is active) is NOT_SERVING.
/// </remarks>
internal sealed class RuntimeHealthCheck(SessionProcessor processor) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (processor.IsStopping)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy("draining: the runtime is stopping"));
        }

        if (processor.Versions.FunctionNames.Count == 0)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy(processor.Versions.DeployEnabled
                ? "no user code is active yet: deploy a version (jex deploy) to serve"
                : "no user code is loaded: there is no function to serve"));
        }

        var stuck = processor.StuckCalls;
        return Task.FromResult(stuck > 0
            ? HealthCheckResult.Unhealthy($"{stuck} call(s) stuck past their deadline by UserCode:StuckCallSeconds")
            : HealthCheckResult.Healthy());
    }
}
