using System.Buffers;
using FsCheck.Xunit;
using Google.Protobuf;
using Grpc.Core;
using Jex.Member.Transports.Grpc;
using Jex.Protocol.V1;

namespace Jex.Member.Tests.Transports.Grpc;

/// <summary>
/// The gRPC request marshaller writes batches with the hand-written encoder and everything else
/// with Google.Protobuf: either way the bytes on the wire are the generated serializer's.
/// </summary>
public sealed class GrpcSessionChannelMarshallerTests
{
    [Property(MaxTest = 200)]
    public bool Serialize_ABatch_WritesTheGeneratedSerializersBytes(int seed)
    {
        var random = new Random(seed);
        var batch = new Batch { Id = (ulong)random.NextInt64(), DeadlineMs = (uint)random.Next(0, 10_000) };
        for (var i = random.Next(0, 40); i > 0; i--)
        {
            var value = new byte[random.Next(0, 300)];
            random.NextBytes(value);
            batch.Items.Add(new Item
            {
                Key = ByteString.CopyFromUtf8("k" + random.Next()),
                Value = ByteString.CopyFrom(value),
                ValueFormat = (Format)random.Next(0, 5),
                TimestampMs = random.NextInt64(-5, long.MaxValue),
                Partition = random.Next(-3, 271),
                Sequence = random.NextInt64(),
            });
        }

        var message = new MemberMessage { Batch = batch };

        return Serialize(message).AsSpan().SequenceEqual(message.ToByteArray());
    }

    [Fact]
    public void Serialize_AMessageThatIsNotABatch_WritesTheGeneratedSerializersBytes()
    {
        var message = new MemberMessage { Init = new Init { Function = "identity", Token = "t", MaxConcurrency = 8 } };

        Assert.Equal(message.ToByteArray(), Serialize(message));
    }

    [Fact]
    public void Serialize_AnEmptyBatch_SetsThePayloadLengthItWrites()
    {
        var context = new CapturingContext();

        GrpcSessionChannel.TransformMethod.RequestMarshaller.ContextualSerializer(new MemberMessage { Batch = new Batch() }, context);

        Assert.Equal(new byte[] { 0x1A, 0x00 }, context.Payload);
        Assert.Equal(2, context.DeclaredLength);
    }

    private static byte[] Serialize(MemberMessage message)
    {
        var context = new CapturingContext();
        GrpcSessionChannel.TransformMethod.RequestMarshaller.ContextualSerializer(message, context);
        Assert.Equal(context.DeclaredLength, context.Payload.Length);
        return context.Payload;
    }

    /// <summary>What grpc-dotnet gives a marshaller: a declared length, a buffer writer, a completion.</summary>
    private sealed class CapturingContext : SerializationContext
    {
        private readonly ArrayBufferWriter<byte> _writer = new();
        private bool _completed;

        public int DeclaredLength { get; private set; } = -1;

        public byte[] Payload => _completed ? _writer.WrittenSpan.ToArray() : throw new InvalidOperationException("the marshaller never completed");

        public override void SetPayloadLength(int payloadLength) => DeclaredLength = payloadLength;

        public override IBufferWriter<byte> GetBufferWriter() => _writer;

        public override void Complete() => _completed = true;

        public override void Complete(byte[] payload)
        {
            _writer.Write(payload);
            _completed = true;
        }
    }
}
