using Jex.FunctionalTests.Infrastructure;

namespace Jex.Testing.Tests.Parity;

/// <summary>One real jex-runtime (out/runtime, on out/samples) for all parity tests, over gRPC on TCP.</summary>
public sealed class RuntimeFixture : IAsyncLifetime
{
    public RuntimeProcess Runtime { get; private set; } = null!;

    public async Task InitializeAsync() => Runtime = await RuntimeProcess.StartAsync(["--UserCode:Grpc:Port=0"]);

    public async Task DisposeAsync()
    {
        if (Runtime is not null)
        {
            await Runtime.DisposeAsync();
        }
    }
}
