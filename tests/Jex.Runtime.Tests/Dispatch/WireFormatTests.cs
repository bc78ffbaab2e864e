using FsCheck.Xunit;
using Google.Protobuf;
using Jex.Protocol.V1;
using Jex.Runtime.Dispatch.Wire;
using Jex.Protocol.Wire;

namespace Jex.Runtime.Tests.Dispatch;

/// <summary>
/// The dispatcher reads batches and writes results without the generated classes. These tests
/// hold it to them: what it reads equals what Google.Protobuf parses from the same bytes, and what
/// it writes is byte for byte what Google.Protobuf writes for the same message.
/// </summary>
public sealed class WireFormatTests
{
    [Property(MaxTest = 500)]
    public bool BatchReadInPlace_EqualsTheGeneratedParser(int seed)
    {
        var random = new Random(seed);
        var bytes = RandomBatchMessage(random, withUnknownFields: random.Next(2) == 0);
        AssertSameBatch(bytes, $"seed {seed}");
        return true;
    }

    [Property(MaxTest = 300)]
    public bool TruncatedOrCorruptedFrames_ReadLikeTheGeneratedParserOrFailNamingTheByte(int seed)
    {
        var random = new Random(seed);
        var bytes = RandomBatchMessage(random, withUnknownFields: true);
        var damaged = random.Next(2) == 0
            ? bytes[..random.Next(bytes.Length)]
            : Corrupt(bytes, random);
        MemberMessage? expected;
        try
        {
            expected = MemberMessage.Parser.ParseFrom(damaged);
        }
        catch (InvalidProtocolBufferException)
        {
            expected = null;
        }

        var frame = MemberMessageBuffer.Copy(damaged);
        try
        {
            frame.Parse();
        }
        catch (MalformedMessageException e)
        {
            // The generated parser may accept what the hand-written one refuses (groups), never
            // the other way round silently: a refusal names a byte or a field.
            Assert.Matches("byte|field|item", e.Message);
            return true;
        }

        Assert.True(expected is not null, $"seed {seed}: read bytes the generated parser refuses");
        AssertSame(expected!, frame, $"seed {seed}");
        return true;
    }

    [Fact]
    public void BatchSplitOverRepeatedFields_IsMergedAsProtobufSpecifies()
    {
        var first = new MemberMessage { Batch = new Batch { Id = 4, Items = { new Item { Value = ByteString.CopyFromUtf8("a") } } } }.ToByteArray();
        var second = new MemberMessage { Batch = new Batch { DeadlineMs = 9, Items = { new Item { Value = ByteString.CopyFromUtf8("b") } } } }.ToByteArray();
        byte[] bytes = [.. first, .. second];

        var frame = AssertSameBatch(bytes, "split batch");

        Assert.Equal(2, frame.ItemCount);
        Assert.Equal(4UL, frame.BatchId);
        Assert.Equal(9U, frame.DeadlineMs);
    }

    [Fact]
    public void BatchTraceContext_IsReadAsTheBytesSent_AndIsEmptyWhenAbsent()
    {
        const string Parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        // MemberMessage { batch (3) { id (1) = 5, traceparent (4) = Parent, items (3) { value (2) = "v" }, tracestate (5) = "a=b" } }
        var parent = System.Text.Encoding.ASCII.GetBytes(Parent);
        byte[] inner = [0x08, 0x05, 0x22, (byte)parent.Length, .. parent, 0x1A, 0x03, 0x12, 0x01, (byte)'v', 0x2A, 0x03, (byte)'a', (byte)'=', (byte)'b'];
        byte[] bytes = [0x1A, (byte)inner.Length, .. inner];
        Assert.Equal(new MemberMessage { Batch = new Batch { Id = 5, Traceparent = Parent, Tracestate = "a=b", Items = { new Item { Value = ByteString.CopyFromUtf8("v") } } } },
            MemberMessage.Parser.ParseFrom(bytes));

        var frame = MemberMessageBuffer.Copy(bytes);
        frame.Parse();
        frame.ReadTraceContext(out var traceParent, out var traceState);
        Assert.Equal(parent, traceParent.ToArray());
        Assert.Equal("a=b"u8.ToArray(), traceState.ToArray());
        Assert.Equal(1, frame.ItemCount);

        var plain = MemberMessageBuffer.From(new MemberMessage { Batch = new Batch { Id = 6, Items = { new Item() } } });
        plain.Parse();
        plain.ReadTraceContext(out traceParent, out traceState);
        Assert.True(traceParent.IsEmpty);
        Assert.True(traceState.IsEmpty);
    }

    [Fact]
    public void BatchTraceContext_OfABatchInAnUnusualEncoding_IsReadFromTheReEncodedBatch()
    {
        // Two batch fields, merged by protobuf's rules: the second one's traceparent wins.
        var first = new MemberMessage { Batch = new Batch { Id = 3, Traceparent = "first", Items = { new Item() } } }.ToByteArray();
        var second = new MemberMessage { Batch = new Batch { Traceparent = "second", Tracestate = "s=1" } }.ToByteArray();
        var frame = MemberMessageBuffer.Copy([.. first, .. second]);
        frame.Parse();
        Assert.True(frame.IsBatch);
        frame.ReadTraceContext(out var traceParent, out var traceState);
        Assert.Equal("second"u8.ToArray(), traceParent.ToArray());
        Assert.Equal("s=1"u8.ToArray(), traceState.ToArray());
    }

    [Fact]
    public void NonBatchMessages_AreParsedByTheGeneratedClasses()
    {
        var frame = MemberMessageBuffer.From(new MemberMessage { Ping = new Ping { Nonce = 7 } });

        frame.Parse();

        Assert.False(frame.IsBatch);
        Assert.Equal(7UL, frame.Message!.Ping.Nonce);
    }

    [Fact]
    public void ALengthPastTheEnd_IsRefusedNamingWhereAndHowMuch()
    {
        // MemberMessage.batch announcing 100 bytes, of which 2 are there.
        var frame = MemberMessageBuffer.Copy([0x1A, 100, 0x08, 0x01]);

        var e = Assert.Throws<MalformedMessageException>(() => frame.Parse());

        Assert.Equal("length 100 at byte 2 runs past the end of the message (2 bytes left)", e.Message);
    }

    [Fact]
    public void ABadItem_IsRefusedNamingTheItem()
    {
        var items = new Batch { Id = 1, Items = { new Item(), new Item() } }.ToByteArray();
        byte[] broken = [.. items, 0x1A, 0x02, 0x0A, 0x05];
        var bytes = new CodedBytes().Delimited(3, broken).ToArray();

        var e = Assert.Throws<MalformedMessageException>(() => MemberMessageBuffer.Copy(bytes).Parse());

        Assert.StartsWith("batch item 2: length 5", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnItemsTimestampCutShortByItsLength_IsRefusedThoughTheNextItemFollows()
    {
        // Item 0 is a timestamp tag and two continuation bytes; item 1's bytes would end the varint.
        byte[] cut = [0x28, 0xFF, 0xFF];
        var next = new Item { Value = ByteString.CopyFromUtf8("12345678") }.ToByteArray();
        var batch = new CodedBytes().Delimited(3, cut).Delimited(3, next).ToArray();
        var bytes = new CodedBytes().Delimited(3, batch).ToArray();

        var e = Assert.Throws<MalformedMessageException>(() => MemberMessageBuffer.Copy(bytes).Parse());

        Assert.Equal("batch item 0: truncated varint at byte 3", e.Message);
    }

    [Fact]
    public void ABatchOverTheItemLimit_IsCountedButItsItemsAreNotRead()
    {
        var batch = new Batch { Id = 9 };
        for (var i = 0; i < 100_000; i++)
        {
            batch.Items.Add(new Item());
        }

        var frame = MemberMessageBuffer.From(new MemberMessage { Batch = batch });
        frame.Parse(maxItems: 16);

        Assert.True(frame.IsBatch);
        Assert.True(frame.OverLimit);
        Assert.Equal(9UL, frame.BatchId);
        Assert.Equal(100_000, frame.ItemCount);
        Assert.Equal(0, frame.Items.Length);
        frame.Release();
    }

    [Fact]
    public void ABatchOverTheByteLimit_IsCountedButItsItemsAreNotRead()
    {
        var batch = TestBatch(3, "a", "b", "c");
        var frame = MemberMessageBuffer.From(new MemberMessage { Batch = batch });
        frame.Parse(maxBatchBytes: batch.CalculateSize() - 1);

        Assert.True(frame.OverLimit);
        Assert.Equal(3, frame.ItemCount);
        Assert.Equal(0, frame.Items.Length);
    }

    [Fact]
    public void ABatchAtTheLimits_IsRead()
    {
        var batch = TestBatch(3, "a", "b", "c");
        var frame = MemberMessageBuffer.From(new MemberMessage { Batch = batch });
        frame.Parse(maxItems: 3, maxBatchBytes: batch.CalculateSize());

        Assert.False(frame.OverLimit);
        Assert.Equal(3, frame.Items.Length);
    }

    [Theory]
    [InlineData(new byte[] { 0x0A, 0x00 }, 1)]
    [InlineData(new byte[] { 0x1A, 0x00 }, 3)]
    [InlineData(new byte[] { 0x2A, 0x00 }, 5)]
    [InlineData(new byte[] { }, 0)]
    [InlineData(new byte[] { 0x00 }, 0)]
    public void FirstField_ReadsOnlyTheFirstTag(byte[] bytes, int expected) =>
        Assert.Equal(expected, MemberMessageBuffer.Copy(bytes).FirstField());

    [Fact]
    public void BatchResultWriter_AnItemWhoseOutputsBreakTheMessageLimit_GetsResultTooLarge()
    {
        const int limit = 8 * 1024;
        var writer = new BatchResultWriter(5, 64, limit, expectedItems: 3);
        var small = new PendingOutput(default, Format.Text, new byte[100], Format.Text);
        var huge = new PendingOutput(default, Format.Text, new byte[limit], Format.Text);

        writer.AddOk([small]);
        writer.AddOk([huge]);
        writer.AddOk([small]);
        var frame = writer.Finish(1);

        Assert.True(frame.Length <= limit, $"{frame.Length} bytes");
        Assert.Equal(1, writer.TooLargeCount);
        var result = frame.ToMessage().Result;
        Assert.Equal(3, result.Results.Count);
        Assert.Equal(100, result.Results[0].Ok.Outputs_[0].Value.Length);
        Assert.Equal(ItemError.Types.Code.ResultTooLarge, result.Results[1].Error.Code);
        Assert.Contains("UserCode:MaxMessageBytes", result.Results[1].Error.Message, StringComparison.Ordinal);
        Assert.Equal(100, result.Results[2].Ok.Outputs_[0].Value.Length);
        frame.Release();
    }

    [Fact]
    public void BatchResultWriter_KeepsRoomForAnErrorPerRemainingItem()
    {
        const int limit = 64 * 1024;
        const int items = 500;
        var writer = new BatchResultWriter(5, 64, limit, expectedItems: items);
        var output = new PendingOutput(default, Format.Text, new byte[1000], Format.Text);
        for (var i = 0; i < items; i++)
        {
            writer.AddOk([output]);
        }

        var frame = writer.Finish(1);
        Assert.True(frame.Length <= limit, $"{frame.Length} bytes");
        var result = frame.ToMessage().Result;
        Assert.Equal(items, result.Results.Count);
        Assert.True(writer.TooLargeCount > 400, $"{writer.TooLargeCount} too large");
        Assert.Equal(ItemError.Types.Code.ResultTooLarge, result.Results[items - 1].Error.Code);
        frame.Release();
    }

    [Fact]
    public void BatchResultWriter_WritesTheCodeVersionAfterTheElapsedTime_AsField5()
    {
        var writer = new BatchResultWriter(3, 64);
        writer.AddOk([new PendingOutput(default, Format.Text, "x"u8.ToArray(), Format.Text)]);
        var frame = writer.Finish(7, "v12"u8);

        var bytes = frame.Span.ToArray();
        // ... elapsed_us (field 3, varint 7), then code_version (field 5, length 3, "v12"), at the end.
        Assert.Equal(new byte[] { 0x18, 7, 0x2A, 3, (byte)'v', (byte)'1', (byte)'2' }, bytes[^7..]);
        Assert.Equal("v12", RuntimeMessage.Parser.ParseFrom(bytes).Result.CodeVersion);
        frame.Release();
    }

    private static Batch TestBatch(ulong id, params string[] values)
    {
        var b = new Batch { Id = id };
        foreach (var v in values)
        {
            b.Items.Add(new Item { Value = ByteString.CopyFromUtf8(v) });
        }

        return b;
    }

    [Property(MaxTest = 500)]
    public bool BatchResultWriter_WritesTheBytesGoogleProtobufWrites(int seed)
    {
        var random = new Random(seed);
        var batchId = (ulong)random.NextInt64(1, long.MaxValue) >> random.Next(64);
        var expected = new BatchResult { BatchId = batchId };
        var writer = new BatchResultWriter(batchId, random.Next(0, 2000));
        var count = random.Next(0, 40);
        for (var i = 0; i < count; i++)
        {
            if (random.Next(10) == 0)
            {
                var error = new ItemResult
                {
                    Error = new ItemError { Code = ItemError.Types.Code.UserException, Type = "T" + i, Message = new string('m', random.Next(300)) },
                };
                var times = random.Next(1, 3);
                writer.AddEncoded(error.ToByteArray(), times);
                for (var t = 0; t < times; t++)
                {
                    expected.Results.Add(error);
                }

                continue;
            }

            var outputs = new List<PendingOutput>();
            var message = new Outputs();
            for (var o = random.Next(0, 4); o > 0; o--)
            {
                var key = RandomBytes(random, 20);
                var value = RandomBytes(random, random.Next(3) == 0 ? 5000 : 200);
                var keyFormat = RandomFormat(random);
                var valueFormat = RandomFormat(random);
                outputs.Add(new PendingOutput(key, keyFormat, value, valueFormat));
                message.Outputs_.Add(new Output { Key = ByteString.CopyFrom(key), KeyFormat = keyFormat, Value = ByteString.CopyFrom(value), ValueFormat = valueFormat });
            }

            writer.AddOk(outputs.ToArray());
            expected.Results.Add(new ItemResult { Ok = message });
        }

        var elapsed = random.Next(3) == 0 ? 0UL : (ulong)random.NextInt64(0, 1L << 40);
        expected.ElapsedUs = elapsed;
        // Deploy off: no code_version; on: "v" and a number (long ids test a two-byte length).
        var version = random.Next(3) switch { 0 => string.Empty, 1 => "v" + random.Next(100_000), _ => "v" + new string('9', random.Next(120, 200)) };
        expected.CodeVersion = version;
        var frame = writer.Finish(elapsed, System.Text.Encoding.UTF8.GetBytes(version));
        Assert.Equal(expected.Results.Count, writer.Count);
        Assert.Equal(new RuntimeMessage { Result = expected }.ToByteArray(), frame.Span.ToArray());
        frame.Release();
        return true;
    }

    private static MemberMessageBuffer AssertSameBatch(byte[] bytes, string because)
    {
        var expected = MemberMessage.Parser.ParseFrom(bytes);
        var frame = MemberMessageBuffer.Copy(bytes);
        frame.Parse();
        AssertSame(expected, frame, because);
        return frame;
    }

    private static void AssertSame(MemberMessage expected, MemberMessageBuffer frame, string because)
    {
        if (expected.KindCase != MemberMessage.KindOneofCase.Batch)
        {
            Assert.False(frame.IsBatch, because);
            Assert.Equal(expected, frame.Message);
            return;
        }

        Assert.True(frame.IsBatch, because);
        var batch = expected.Batch;
        Assert.Equal(batch.Id, frame.BatchId);
        Assert.Equal(batch.DeadlineMs, frame.DeadlineMs);
        Assert.Equal(batch.Items.Count, frame.ItemCount);
        frame.ReadTraceContext(out var traceParent, out var traceState);
        Assert.Equal(batch.Traceparent, System.Text.Encoding.UTF8.GetString(traceParent));
        Assert.Equal(batch.Tracestate, System.Text.Encoding.UTF8.GetString(traceState));
        for (var i = 0; i < batch.Items.Count; i++)
        {
            var want = batch.Items[i];
            var got = frame.Items[i];
            Assert.Equal(want.Key.ToByteArray(), frame.Slice(got.KeyStart, got.KeyLength).ToArray());
            Assert.Equal(want.Value.ToByteArray(), frame.Slice(got.ValueStart, got.ValueLength).ToArray());
            Assert.Equal(want.KeyFormat, got.KeyFormat);
            Assert.Equal(want.ValueFormat, got.ValueFormat);
            ItemView.ReadMetadata(frame.Slice(got.ItemStart, got.ItemLength).Span, out var timestampMs, out var partition, out var sequence);
            Assert.Equal(want.TimestampMs, timestampMs);
            Assert.Equal(want.Partition, partition);
            Assert.Equal(want.Sequence, sequence);
        }
    }

    /// <summary>A MemberMessage holding a random batch, optionally with unknown fields at every level.</summary>
    private static byte[] RandomBatchMessage(Random random, bool withUnknownFields)
    {
        var batch = new CodedBytes();
        if (withUnknownFields)
        {
            Unknown(batch, random);
        }

        batch.Varint(1, (ulong)random.NextInt64()).Varint(2, (uint)random.Next());
        for (var i = random.Next(0, 300); i > 0; i--)
        {
            var item = new Item
            {
                Key = ByteString.CopyFrom(RandomBytes(random, 24)),
                Value = ByteString.CopyFrom(RandomBytes(random, random.Next(4) == 0 ? 3000 : 100)),
                KeyFormat = RandomFormat(random),
                ValueFormat = RandomFormat(random),
                TimestampMs = random.NextInt64(long.MinValue, long.MaxValue),
                Partition = random.Next(int.MinValue, int.MaxValue),
                Sequence = random.Next(3) == 0 ? -random.NextInt64() : random.NextInt64(),
            };
            var itemBytes = new CodedBytes().Raw(item.ToByteArray());
            if (withUnknownFields && random.Next(3) == 0)
            {
                Unknown(itemBytes, random);
            }

            batch.Delimited(3, itemBytes.ToArray());
            if (random.Next(100) == 0)
            {
                // The trace context may come anywhere among the items (protobuf has no field order).
                batch.Delimited(4, System.Text.Encoding.ASCII.GetBytes($"00-{random.NextInt64():x16}{random.NextInt64():x16}-{random.NextInt64():x16}-01"));
                batch.Delimited(5, System.Text.Encoding.ASCII.GetBytes($"k={random.Next()}"));
            }
        }

        var message = new CodedBytes();
        if (withUnknownFields)
        {
            Unknown(message, random);
        }

        return message.Delimited(3, batch.ToArray()).ToArray();
    }

    private static void Unknown(CodedBytes bytes, Random random)
    {
        var field = random.Next(8, 3000);
        switch (random.Next(4))
        {
            case 0:
                bytes.Varint(field, (ulong)random.NextInt64());
                break;
            case 1:
                bytes.Tag(field, 1).Raw(RandomBytes(random, 8, exact: true));
                break;
            case 2:
                bytes.Delimited(field, RandomBytes(random, 40));
                break;
            default:
                bytes.Tag(field, 5).Raw(RandomBytes(random, 4, exact: true));
                break;
        }
    }

    private static byte[] Corrupt(byte[] bytes, Random random)
    {
        var copy = bytes.ToArray();
        for (var i = random.Next(1, 4); i > 0 && copy.Length > 0; i--)
        {
            copy[random.Next(copy.Length)] = (byte)random.Next(256);
        }

        return copy;
    }

    private static byte[] RandomBytes(Random random, int max, bool exact = false)
    {
        var bytes = new byte[exact ? max : random.Next(0, max + 1)];
        random.NextBytes(bytes);
        return bytes;
    }

    private static Format RandomFormat(Random random) => random.Next(6) switch
    {
        0 => Format.Unspecified,
        5 => (Format)random.Next(-3, 300),
        var n => (Format)n,
    };

    /// <summary>Builds protobuf bytes field by field, for shapes the generated classes never write.</summary>
    private sealed class CodedBytes
    {
        private readonly List<byte> _bytes = [];

        public CodedBytes Tag(int field, int wireType) => VarintRaw(((ulong)field << 3) | (uint)wireType);

        public CodedBytes Varint(int field, ulong value) => Tag(field, 0).VarintRaw(value);

        public CodedBytes Delimited(int field, byte[] payload) => Tag(field, 2).VarintRaw((ulong)payload.Length).Raw(payload);

        public CodedBytes Raw(byte[] bytes)
        {
            _bytes.AddRange(bytes);
            return this;
        }

        public byte[] ToArray() => [.. _bytes];

        private CodedBytes VarintRaw(ulong value)
        {
            while (value >= 0x80)
            {
                _bytes.Add((byte)(value | 0x80));
                value >>= 7;
            }

            _bytes.Add((byte)value);
            return this;
        }
    }
}
