using Google.Protobuf;
using Jex.Cli.Record;
using Jex.Protocol.V1;

namespace Jex.Cli.Tests.Record;

public sealed class ReplayDiffTests
{
    private static Item Item(string key) => new() { Key = ByteString.CopyFromUtf8(key), Value = ByteString.CopyFromUtf8("{}") };

    private static ItemResult Ok(string value) => new() { Ok = new Outputs { Outputs_ = { new Output { Value = ByteString.CopyFromUtf8(value) } } } };

    private static ItemResult Error(string message, string stack = "") =>
        new() { Error = new ItemError { Code = ItemError.Types.Code.UserException, Type = "System.ArgumentException", Message = message, Stack = stack } };

    [Fact]
    public void Compare_NamesOnlyTheItemsWhoseResultChanged()
    {
        var batch = new RecordedBatch(3, [Item("o-1"), Item("o-2"), Item("o-3")], [Ok("""{"bulk":false}"""), Ok("""{"bulk":true}"""), Error("bad")]);

        var differences = ReplayDiff.Compare(batch, [Ok("""{"bulk":false}"""), Ok("""{"bulk":false}"""), Error("bad")], Format.Text, Format.Json).ToList();

        var difference = Assert.Single(differences);
        Assert.Equal(new ItemDifference("o-2", 3, 1, """{"bulk":true}""", """{"bulk":false}"""), difference);
    }

    [Fact]
    public void Compare_WhenOnlyTheStackMoved_CountsTheErrorAsEqual()
    {
        var batch = new RecordedBatch(1, [Item("k")], [Error("bad", "at F() line 10")]);

        Assert.Empty(ReplayDiff.Compare(batch, [Error("bad", "at F() line 12")], Format.Text, Format.Json));
    }

    [Fact]
    public void Compare_WhenAnErrorBecomesAnOutput_ShowsBoth()
    {
        var batch = new RecordedBatch(1, [Item("k")], [Error("bad")]);

        var difference = Assert.Single(ReplayDiff.Compare(batch, [Ok("1")], Format.Text, Format.Json));

        Assert.Equal("error USER_EXCEPTION System.ArgumentException: bad", difference.Expected);
        Assert.Equal("1", difference.Actual);
    }

    [Fact]
    public void Compare_WhenAFormatIsExplicitButEqualToTheDefault_CountsItEqual()
    {
        var batch = new RecordedBatch(1, [Item("k")], [Ok("1")]);
        var explicitFormat = new ItemResult { Ok = new Outputs { Outputs_ = { new Output { Value = ByteString.CopyFromUtf8("1"), ValueFormat = Format.Json } } } };

        Assert.Empty(ReplayDiff.Compare(batch, [explicitFormat], Format.Text, Format.Json));
    }

    [Fact]
    public void Compare_WhenAnOutputCarriesTheInputsKey_ShowsOnlyTheValueAndEqualsAnUnkeyedOutput()
    {
        var keyed = new ItemResult { Ok = new Outputs { Outputs_ = { new Output { Key = ByteString.CopyFromUtf8("o-2"), Value = ByteString.CopyFromUtf8("2") } } } };
        var batch = new RecordedBatch(1, [Item("o-2")], [keyed]);

        Assert.Empty(ReplayDiff.Compare(batch, [Ok("2")], Format.Text, Format.Json));
        Assert.Equal("3", Assert.Single(ReplayDiff.Compare(batch, [Ok("3")], Format.Text, Format.Json)).Actual);
        Assert.Equal("o-9 = 2", ReplayDiff.Render(new ItemResult { Ok = new Outputs { Outputs_ = { new Output { Key = ByteString.CopyFromUtf8("o-9"), Value = ByteString.CopyFromUtf8("2") } } } }, Format.Text, Format.Json, ByteString.CopyFromUtf8("o-2")));
    }

    [Fact]
    public void Shorten_CutsLongValuesAroundTheirFirstDifference()
    {
        var prefix = new string('a', 300);
        var (expected, actual) = ReplayDiff.Shorten(prefix + "X" + new string('z', 300), prefix + "Y" + new string('z', 300), 60);

        Assert.StartsWith("...", expected, StringComparison.Ordinal);
        Assert.EndsWith("...", expected, StringComparison.Ordinal);
        Assert.Contains("X", expected, StringComparison.Ordinal);
        Assert.Contains("Y", actual, StringComparison.Ordinal);
        Assert.True(expected.Length <= 66, expected);
    }

    [Fact]
    public void Expand_WhenTheBatchWasRefusedAsAWhole_GivesEachItemTheError()
    {
        var error = new ItemError { Code = ItemError.Types.Code.BatchTooLarge, Message = "too big" };

        var results = ReplayRunner.Expand(new BatchResult { BatchId = 1, Error = error }, 3);

        Assert.Equal(3, results.Count);
        Assert.All(results, r => Assert.Equal(error, r.Error));
    }
}
