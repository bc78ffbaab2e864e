using FsCheck.Xunit;
using Google.Protobuf;
using Jex.Protocol.Wire;

namespace Jex.Runtime.Tests.Dispatch;

/// <summary>The hand-written varint primitives must agree with Google.Protobuf at every length, near the end of a buffer or far from it.</summary>
public sealed class ProtoWireTests
{
    [Property(MaxTest = 1000)]
    public bool ReadVarint_ReadsWhatGoogleProtobufWrote_WithAnyBytesAfterIt(ulong raw, byte bits, byte trailing)
    {
        var value = raw >> (bits % 64);
        var encoded = new byte[CodedOutputStream.ComputeRawVarint64Size(value)];
        var output = new CodedOutputStream(encoded);
        output.WriteUInt64(value);
        output.Flush();
        var buffer = new byte[3 + encoded.Length + (trailing % 12)];
        encoded.CopyTo(buffer, 3);

        var pos = 3;
        var read = ProtoWire.ReadVarint(buffer, ref pos);

        return read == value && pos == 3 + encoded.Length;
    }

    [Property(MaxTest = 1000)]
    public bool SkipVarint_StopsWhereReadVarintStops_WithAnyBytesAfterIt(ulong raw, byte bits, byte trailing, byte fill)
    {
        var value = raw >> (bits % 64);
        var encoded = new byte[CodedOutputStream.ComputeRawVarint64Size(value)];
        var output = new CodedOutputStream(encoded);
        output.WriteUInt64(value);
        output.Flush();
        // Trailing bytes with their top bit set as well as clear: only the varint's own bytes may count.
        var buffer = Enumerable.Repeat(fill, 3 + encoded.Length + (trailing % 12)).ToArray();
        encoded.CopyTo(buffer, 3);

        var pos = 3;
        ProtoWire.SkipVarint(buffer, ref pos);

        return pos == 3 + encoded.Length;
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    public void SkipVarint_OfElevenContinuationBytes_FailsLikeReadVarint(int trailing)
    {
        var buffer = Enumerable.Repeat((byte)0x80, 11).Concat(new byte[trailing]).ToArray();

        var pos = 0;
        var error = Assert.Throws<MalformedMessageException>(() => ProtoWire.SkipVarint(buffer, ref pos));

        Assert.Equal("varint longer than 10 bytes ending at byte 10", error.Message);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(9)]
    public void SkipVarint_CutShort_FailsNamingTheByteAfterTheEnd(int length)
    {
        var buffer = Enumerable.Repeat((byte)0x80, length).ToArray();
        buffer[0] = 0x01;

        var pos = 1;
        var error = Assert.Throws<MalformedMessageException>(() => ProtoWire.SkipVarint(buffer, ref pos));

        Assert.Equal($"truncated varint at byte {length}", error.Message);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(5)]
    public void SkipVarint_EndingPastItsBound_FailsAsTruncatedThereThoughBytesFollow(int bound)
    {
        // A six-byte varint followed by twelve more bytes: the bound, not the buffer, is the end.
        byte[] buffer = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, .. new byte[12]];

        var pos = 0;
        var error = Assert.Throws<MalformedMessageException>(() => ProtoWire.SkipVarint(buffer, ref pos, bound));

        Assert.Equal($"truncated varint at byte {bound}", error.Message);
    }

    [Fact]
    public void SkipVarint_EndingAtItsBound_StopsThere()
    {
        byte[] buffer = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, .. new byte[12]];

        var pos = 0;
        ProtoWire.SkipVarint(buffer, ref pos, 6);

        Assert.Equal(6, pos);
    }

    [Property(MaxTest = 1000)]
    public bool VarintSize_EqualsGoogleProtobufsSize(ulong raw, byte bits)
    {
        var value = raw >> (bits % 64);
        return ProtoWire.VarintSize(value) == CodedOutputStream.ComputeRawVarint64Size(value);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    public void ReadVarint_OfElevenContinuationBytes_FailsNamingWhereItEnds(int trailing)
    {
        var buffer = Enumerable.Repeat((byte)0x80, 11).Concat(new byte[trailing]).ToArray();

        var pos = 0;
        var error = Assert.Throws<MalformedMessageException>(() => ProtoWire.ReadVarint(buffer, ref pos));

        Assert.Equal("varint longer than 10 bytes ending at byte 10", error.Message);
    }

    [Fact]
    public void ReadVarint_CutShort_FailsNamingTheByteAfterTheEnd()
    {
        byte[] buffer = [0x01, 0x80, 0x80];

        var pos = 1;
        var error = Assert.Throws<MalformedMessageException>(() => ProtoWire.ReadVarint(buffer, ref pos));

        Assert.Equal("truncated varint at byte 3", error.Message);
    }
}
