using Jex.Runtime.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Jex.Runtime.Tests.Hosting;

public sealed class TransportListenerServiceTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Host_StartsTheListenerOnlyOnceStarted_AndStopsItWithTheShutdownToken()
    {
        var listener = new RecordingListener();
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddTransportListener(listener);
        builder.Services.AddHostedService<StartMarker>();
        builder.Services.AddSingleton(listener);
        using var host = builder.Build();

        await host.StartAsync().WaitAsync(Timeout);
        // Every hosted service had started before the listener announced itself.
        Assert.Equal(["marker started", "listener started"], listener.Events);

        await host.StopAsync(TimeSpan.FromSeconds(5)).WaitAsync(Timeout);
        Assert.Equal(["marker started", "listener started", "listener stopping"], listener.Events);
        Assert.True(listener.StopToken.CanBeCanceled);
    }

    [Fact]
    public async Task Host_WhoseListenerDoesNotDrainInTime_CancelsItsStopToken()
    {
        var listener = new RecordingListener { DrainForever = true };
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddTransportListener(listener);
        using var host = builder.Build();
        await host.StartAsync().WaitAsync(Timeout);

        await host.StopAsync(TimeSpan.FromMilliseconds(200)).WaitAsync(Timeout);
        Assert.True(listener.StopToken.IsCancellationRequested);
    }

    [Fact]
    public void AddTransportListener_Twice_KeepsTheFirstAndOneHostedService()
    {
        var services = new ServiceCollection();
        var first = new RecordingListener();
        services.AddTransportListener(first);
        services.AddTransportListener(new RecordingListener());
        using var provider = services.BuildServiceProvider();

        Assert.Same(first, provider.GetRequiredService<ITransportListener>());
        Assert.Single(provider.GetServices<IHostedService>());
    }

    private sealed class RecordingListener : ITransportListener
    {
        public List<string> Events { get; } = [];

        public bool DrainForever { get; init; }

        public CancellationToken StopToken { get; private set; }

        public Task StartAsync(CancellationToken cancellationToken)
        {
            Events.Add("listener started");
            return Task.CompletedTask;
        }

        public async Task StopAsync(CancellationToken cancellationToken)
        {
            Events.Add("listener stopping");
            StopToken = cancellationToken;
            if (DrainForever)
            {
                await Task.Delay(System.Threading.Timeout.Infinite, cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    private sealed class StartMarker(RecordingListener listener) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            listener.Events.Add("marker started");
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
