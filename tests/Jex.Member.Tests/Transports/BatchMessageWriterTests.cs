using FsCheck.Xunit;
using Google.Protobuf;
using Jex.Member.Transports;
using Jex.Protocol.V1;

namespace Jex.Member.Tests.Transports;

/// <summary>The hand-written batch encoder must write the generated serializer's bytes, field for field.</summary>
public sealed class BatchMessageWriterTests
{
    [Property(MaxTest = 500)]
    public bool Write_ProducesTheGeneratedSerializersBytes(int seed)
    {
        var message = new MemberMessage { Batch = RandomBatch(new Random(seed)) };

        var expected = message.ToByteArray();

        return expected.AsSpan().SequenceEqual(Encode(message.Batch));
    }

    [Fact]
    public void Write_AnEmptyBatch_WritesTheBatchFieldWithNoPayload()
    {
        Assert.Equal(new byte[] { 0x1A, 0x00 }, Encode(new Batch()));
    }

    [Fact]
    public void Write_NegativeNumbers_TakeTenByteVarintsAsProtobufSpecifies()
    {
        var batch = new Batch { Id = 1, Items = { new Item { Partition = -1, TimestampMs = -2, Sequence = long.MinValue } } };

        var bytes = Encode(batch);

        Assert.Equal(new MemberMessage { Batch = batch }.ToByteArray(), bytes);
        // Tag 3 + length, id, item tag + length, then three fields of tag + 10-byte varint.
        Assert.Equal(2 + 2 + 2 + (3 * 11), bytes.Length);
    }

    [Fact]
    public void Write_ABatchOfTwoHundredFiftySixItems_RoundTripsThroughTheGeneratedParser()
    {
        var batch = new Batch { Id = 300, DeadlineMs = 5000, Traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" };
        for (var i = 0; i < 256; i++)
        {
            batch.Items.Add(new Item { Key = ByteString.CopyFromUtf8($"key-{i}"), Value = ByteString.CopyFrom(new byte[64]), TimestampMs = 1_700_000_000_000 + i, Partition = i % 271, Sequence = i });
        }

        var parsed = MemberMessage.Parser.ParseFrom(Encode(batch));

        Assert.Equal(new MemberMessage { Batch = batch }, parsed);
    }

    private static byte[] Encode(Batch batch)
    {
        var itemSizes = new int[batch.Items.Count];
        var batchSize = BatchMessageWriter.BatchSize(batch, itemSizes);
        var bytes = new byte[BatchMessageWriter.MessageSize(batchSize)];
        BatchMessageWriter.Write(bytes, batch, batchSize, itemSizes);
        return bytes;
    }

    private static Batch RandomBatch(Random random)
    {
        var batch = new Batch
        {
            Id = random.Next(3) == 0 ? 0 : (ulong)random.NextInt64(),
            DeadlineMs = random.Next(3) == 0 ? 0 : (uint)random.Next(),
            Traceparent = random.Next(2) == 0 ? "" : "00-" + new string('a', random.Next(1, 60)),
            Tracestate = random.Next(3) == 0 ? "vendor=é" + new string('x', random.Next(0, 200)) : "",
        };
        for (var i = random.Next(0, 40); i > 0; i--)
        {
            batch.Items.Add(new Item
            {
                Key = ByteString.CopyFrom(RandomBytes(random, random.Next(2) == 0 ? 0 : 20)),
                Value = ByteString.CopyFrom(RandomBytes(random, random.Next(4) == 0 ? 0 : 300)),
                KeyFormat = (Format)random.Next(-1, 4),
                ValueFormat = (Format)random.Next(0, 4),
                TimestampMs = RandomLong(random),
                Partition = random.Next(4) == 0 ? 0 : random.Next(int.MinValue, int.MaxValue),
                Sequence = RandomLong(random),
            });
        }

        return batch;
    }

    private static long RandomLong(Random random) => random.Next(4) switch
    {
        0 => 0,
        1 => random.Next(0, 128),
        2 => -random.NextInt64(),
        _ => random.NextInt64(),
    };

    private static byte[] RandomBytes(Random random, int maxLength)
    {
        var bytes = new byte[random.Next(0, maxLength + 1)];
        random.NextBytes(bytes);
        return bytes;
    }
}
