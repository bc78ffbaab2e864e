using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Jex.Runtime.Dispatch;

/// <summary>
/// What the gRPC health service (<c>grpc.health.v1.Health</c>) reports: NOT_SERVING while the
/// runtime drains (SIGTERM) or while a call is stuck past its deadline, so an operator or a member
/// knows to recycle the process; SERVING otherwise.
/// </summary>
internal sealed class RuntimeHealthCheck(SessionProcessor processor) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (processor.IsStopping)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy("draining: the runtime is stopping"));
        }

        var stuck = processor.StuckCalls;
        return Task.FromResult(stuck > 0
            ? HealthCheckResult.Unhealthy($"{stuck} call(s) stuck past their deadline by UserCode:StuckCallSeconds")
            : HealthCheckResult.Healthy());
    }
}
