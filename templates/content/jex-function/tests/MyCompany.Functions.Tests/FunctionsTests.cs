using Jex.Testing;

namespace MyCompany.Functions.Tests;

public sealed class FunctionsTests
{
    [Fact]
    public async Task EnrichOrder_TotalsTheOrderAndNormalizesTheCustomer()
    {
        var enrichOrder = JexFunction.Load<Functions>("enrichOrder");

        var result = await enrichOrder.InvokeAsync(
            JexInput.Json("""{"id":"o-1","customer":" acme ","quantity":12,"unitPriceCents":250}"""));

        Assert.Null(result.Error);
        var view = Assert.Single(result.Texts);
        Assert.Equal("""{"id":"o-1","customer":"ACME","totalCents":3000,"bulk":true}""", view);
    }

    [Fact]
    public async Task EnrichOrder_Compact_ReturnsTheViewAsCompact()
    {
        var enrichOrder = JexFunction.Load<Functions>("enrichOrder");
        var order = new Order { Id = "o-2", Customer = "globex", Quantity = 3, UnitPriceCents = 99 };

        // What a Jet pipeline sends: a Compact value keyed by a Hazelcast string, with its schema.
        var result = await enrichOrder.InvokeAsync(JexInput.Compact(order).WithKey("o-2"));

        var view = result.Compact<OrderView>();
        Assert.Equal(("GLOBEX", 297L, false), (view.Customer, view.TotalCents, view.Bulk));
        Assert.Equal("order-view", Assert.Single(result.Schemas).TypeName);
        Assert.Equal("o-2", Assert.Single(result.Outputs).KeyAsHazelcastString());
    }

    [Fact]
    public async Task EnrichOrder_ValueThatIsNotAnOrder_FailsWithADecodeError()
    {
        var enrichOrder = JexFunction.Load<Functions>("enrichOrder");

        var result = await enrichOrder.InvokeAsync(JexInput.Json("""{"quantity":"many"}"""));

        Assert.Equal(JexErrorCode.Decode, result.Error?.Code);
    }

    [Fact]
    public async Task SplitWords_GivesOneOutputPerWord()
    {
        var splitWords = JexFunction.Load<Functions>("splitWords");

        var result = await splitWords.InvokeAsync(JexInput.Text("the  quick fox"));

        Assert.Equal(new[] { "the", "quick", "fox" }, result.Texts);
    }

    [Fact]
    public async Task SplitWords_DropsWordsShorterThanTheMinLengthSetting()
    {
        var splitWords = JexFunction.Load<Functions>("splitWords");
        var context = new TestJexContext { Settings = { ["min-length"] = "4" } };

        var result = await splitWords.InvokeAsync(JexInput.Text("the quick brown fox"), context);

        Assert.Equal(new[] { "quick", "brown" }, result.Texts);
    }

    [Fact]
    public async Task SplitWords_BlankLine_GivesNoOutput()
    {
        var splitWords = JexFunction.Load<Functions>("splitWords");

        var result = await splitWords.InvokeAsync(JexInput.Text("   "));

        Assert.Null(result.Error);
        Assert.Empty(result.Outputs);
    }
}
