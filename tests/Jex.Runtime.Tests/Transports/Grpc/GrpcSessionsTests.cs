using Jex.Runtime.Transports.Grpc;

namespace Jex.Runtime.Tests.Transports.Grpc;

public sealed class GrpcSessionsTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public void WhenIdle_WithNoOpenCall_IsAlreadyComplete() => Assert.True(new GrpcSessions().WhenIdleAsync().IsCompleted);

    [Fact]
    public async Task WhenIdle_CompletesWhenTheLastOpenCallEnds()
    {
        var sessions = new GrpcSessions();
        var first = sessions.Enter();
        var second = sessions.Enter();
        var idle = sessions.WhenIdleAsync();
        Assert.Equal(2, sessions.Open);

        first.Dispose();
        Assert.False(idle.IsCompleted);
        second.Dispose();
        await idle.WaitAsync(Timeout);
        Assert.Equal(0, sessions.Open);
    }

    [Fact]
    public async Task WhenIdle_AfterABusySpell_WaitsForTheNextOne()
    {
        var sessions = new GrpcSessions();
        sessions.Enter().Dispose();
        var open = sessions.Enter();
        var idle = sessions.WhenIdleAsync();
        Assert.False(idle.IsCompleted);
        open.Dispose();
        await idle.WaitAsync(Timeout);
    }
}
