namespace Jex.Member.Launch;

/// <summary>
/// Passthru: the runtime was started by someone else; the member only connects to it. There is
/// nothing to start or stop, and "restarting" means reconnecting.
/// </summary>
internal sealed class PassthruLauncher : IRuntimeLauncher
{
    private readonly string _address;
    private readonly string _transport;

    /// <param name="address">http://host:port, unix:/path, or a shared-memory path.</param>
    /// <param name="transport">"grpc" or "shared-memory".</param>
    public PassthruLauncher(string address, string transport = "grpc")
    {
        _address = address;
        _transport = transport;
    }

    public Task<IRuntimeInstance> StartAsync(RuntimeLaunchOptions options, CancellationToken cancellationToken) =>
        Task.FromResult<IRuntimeInstance>(new PassthruInstance(new RuntimeReadyInfo(_transport, _address, 0, "", [])));

    private sealed class PassthruInstance(RuntimeReadyInfo ready) : IRuntimeInstance
    {
        public RuntimeReadyInfo Ready { get; } = ready;

        public Task Exited { get; } = new TaskCompletionSource().Task;

        public IReadOnlyList<string> RecentOutput { get; } = [];

        public Task StopAsync(TimeSpan grace, CancellationToken cancellationToken) => Task.CompletedTask;

        public void Kill()
        {
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
