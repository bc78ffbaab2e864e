using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Jex.Runtime.Tests.InProcess;

/// <summary>The in-process tier's own guarantee: an Error log nobody declared fails the test.</summary>
public sealed class InProcessRuntimeTests
{
    [Fact]
    public async Task AnUndeclaredErrorLog_FailsVerification_NamingTheRecord()
    {
        var runtime = await InProcessRuntime.StartAsync();
        var logger = runtime.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Jex.Runtime.Test");
        logger.LogWarning(new EventId(9001), "a warning is allowed");
        logger.LogError(new EventId(9002), "something broke in session {Id}", 12);

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => runtime.DisposeAsync().AsTask());
        Assert.Contains("1 undeclared Error record(s)", e.Message, StringComparison.Ordinal);
        Assert.Contains("(9002) something broke in session 12", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ADeclaredErrorLog_PassesVerification_ButAnotherIdStillFails()
    {
        var runtime = await InProcessRuntime.StartAsync();
        runtime.ExpectErrors(9003);
        var logger = runtime.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Jex.Runtime.Test");
        logger.LogError(new EventId(9003), "expected by the test");
        runtime.VerifyNoUndeclaredErrors();

        logger.LogCritical(new EventId(9004), "not expected");
        var e = Assert.Throws<InvalidOperationException>(runtime.VerifyNoUndeclaredErrors);
        Assert.Contains("(9004) not expected", e.Message, StringComparison.Ordinal);
        runtime.ExpectErrors(9004);
        await runtime.DisposeAsync();
    }
}
