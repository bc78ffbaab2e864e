using Jex.Protocol.Contract;

namespace Jex.Runtime.Tests.Hosting;

public sealed class TransportKindsTests
{
    [Theory]
    [InlineData("grpc", nameof(TransportKind.Grpc))]
    [InlineData("GRPC", nameof(TransportKind.Grpc))]
    [InlineData("shared-memory", nameof(TransportKind.SharedMemory))]
    [InlineData("Shared-Memory", nameof(TransportKind.SharedMemory))]
    public void TryParse_AcceptsTheSpellingInAnyCase(string value, string expectedName)
    {
        var expected = Enum.Parse<TransportKind>(expectedName);
        Assert.True(TransportKinds.TryParse(value, out var kind));
        Assert.Equal(expected, kind);
        Assert.True(TransportKinds.Is(value, expected));
    }

    [Theory]
    [InlineData("SharedMemory")]
    [InlineData("shm")]
    [InlineData("")]
    [InlineData(null)]
    public void TryParse_RefusesAnyOtherSpelling(string? value)
    {
        Assert.False(TransportKinds.TryParse(value, out _));
        Assert.False(TransportKinds.Is(value, TransportKind.Grpc));
    }

    [Fact]
    public void ToWire_GivesTheSpellingTryParseReadsBack()
    {
        Assert.Equal(["grpc", "shared-memory"], Enum.GetValues<TransportKind>().Select(k => k.ToWire()));
        Assert.All(Enum.GetValues<TransportKind>(), k => Assert.True(TransportKinds.TryParse(k.ToWire(), out var back) && back == k));
        Assert.Equal(["grpc", "shared-memory"], TransportKinds.Names);
    }
}
