using Jex.Cli.Soak;

namespace Jex.Cli.Tests.Soak;

/// <summary>The ledger: each batch is answered once; a second answer, an unknown id and no answer are each counted.</summary>
public sealed class SoakLedgerTests
{
    private sealed class Tag;

    [Fact]
    public void Receive_ForAnOutstandingBatch_HandsItBackOnce()
    {
        var ledger = new SoakLedger<Tag>();
        var tag = new Tag();
        ledger.Sent(1, 256, tag);

        Assert.Equal(ResultClass.Expected, ledger.Receive(1, out var batch, out var items));
        Assert.Same(tag, batch);
        Assert.Equal(256, items);
        ledger.Checked(256, 0);

        Assert.Equal(new SoakCounts(1, 256, 1, 256, 0, 0, 0, 0), ledger.Counts());
    }

    [Fact]
    public void Receive_ASecondTime_IsADuplicate()
    {
        var ledger = new SoakLedger<Tag>();
        ledger.Sent(1, 4, new Tag());
        ledger.Receive(1, out _, out _);

        Assert.Equal(ResultClass.Duplicate, ledger.Receive(1, out var batch, out _));
        Assert.Null(batch);
        Assert.Equal(1, ledger.Duplicates);
    }

    [Theory]
    [InlineData(0UL)]
    [InlineData(3UL)]
    public void Receive_ForAnIdNeverSent_IsUnknown(ulong id)
    {
        var ledger = new SoakLedger<Tag>();
        ledger.Sent(1, 4, new Tag());

        Assert.Equal(ResultClass.Unknown, ledger.Receive(id, out _, out _));
        Assert.Equal(1, ledger.Unknown);
        Assert.Equal(0, ledger.Duplicates);
    }

    [Fact]
    public void Counts_WithBatchesUnanswered_CountTheirItemsAsLost()
    {
        var ledger = new SoakLedger<Tag>();
        ledger.Sent(1, 256, new Tag());
        ledger.Sent(2, 256, new Tag());
        ledger.Sent(3, 100, new Tag());
        ledger.Receive(2, out _, out _);
        ledger.Checked(256, 0);

        var counts = ledger.Counts();

        Assert.Equal(356, counts.Lost);
        Assert.Equal(2, ledger.OutstandingBatches);
        Assert.Equal(counts.ItemsSent, counts.ItemsOk + counts.ItemsWrong + counts.Lost);
    }

    [Fact]
    public void Sent_AnIdNotAboveTheLast_Throws()
    {
        var ledger = new SoakLedger<Tag>();
        ledger.Sent(5, 1, new Tag());

        Assert.Throws<ArgumentException>(() => ledger.Sent(5, 1, new Tag()));
        Assert.Throws<ArgumentException>(() => ledger.Sent(4, 1, new Tag()));
    }
}
