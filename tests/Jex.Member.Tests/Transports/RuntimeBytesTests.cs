using FsCheck.Xunit;
using Google.Protobuf;
using Jex.Member.Transports;
using Jex.Protocol.V1;

namespace Jex.Member.Tests.Transports;

/// <summary>The member's result scan must say what the generated parser says about the same bytes.</summary>
public sealed class RuntimeBytesTests
{
    [Property(MaxTest = 300)]
    public bool ResultScan_AgreesWithTheGeneratedParser(int seed)
    {
        var random = new Random(seed);
        var result = new BatchResult { BatchId = (ulong)random.NextInt64(1, long.MaxValue), ElapsedUs = (ulong)random.Next() };
        for (var i = random.Next(0, 50); i > 0; i--)
        {
            if (random.Next(8) == 0)
            {
                result.Results.Add(new ItemResult { Error = new ItemError { Code = ItemError.Types.Code.UserException, Message = "boom" } });
                continue;
            }

            var outputs = new Outputs();
            for (var o = random.Next(0, 3); o > 0; o--)
            {
                var value = new byte[random.Next(0, 300)];
                random.NextBytes(value);
                outputs.Outputs_.Add(new Output { Key = ByteString.CopyFromUtf8("k"), Value = ByteString.CopyFrom(value), ValueFormat = Format.Bytes });
            }

            result.Results.Add(new ItemResult { Ok = outputs });
        }

        var bytes = RuntimeBytes.From(new RuntimeMessage { Result = result });
        Assert.True(bytes.TryReadResult(out var summary));

        Assert.Equal(result.BatchId, summary.BatchId);
        Assert.Equal(result.Results.Count, summary.Items);
        Assert.Equal(result.Results.Count(r => r.OutcomeCase != ItemResult.OutcomeOneofCase.Ok), summary.Failed);
        Assert.Equal(result.Results.Count(r => r.OutcomeCase == ItemResult.OutcomeOneofCase.Ok && r.Ok.Outputs_.Count != 1), summary.NotOneOutput);
        var first = result.Results.FirstOrDefault();
        if (first?.Ok is { Outputs_.Count: > 0 } ok && ok.Outputs_[0].Value.Length > 0)
        {
            Assert.Equal(ok.Outputs_[0].Value.ToByteArray(), bytes.Slice(summary.FirstValueStart, summary.FirstValueLength).ToArray());
        }
        else
        {
            Assert.Equal(-1, summary.FirstValueStart);
        }

        bytes.Release();
        return true;
    }

    [Fact]
    public void OtherMessages_AreNotTakenForResults()
    {
        var bytes = RuntimeBytes.From(new RuntimeMessage { Pong = new Pong { Nonce = 5 } });

        Assert.False(bytes.TryReadResult(out _));
        Assert.Equal(5UL, bytes.ToMessage().Pong.Nonce);
    }
}
