using Jex.UserCode.Compact;

namespace MyCompany.Functions;

/// <summary>
/// An order as the source map holds it. As JSON: <c>{"id":"o-1","customer":"acme","quantity":2,"unitPriceCents":1250}</c>;
/// from a Hazelcast member: the Compact type <c>order</c>, whose fields bind to these properties by name.
/// </summary>
[CompactType("order")]
public sealed class Order
{
    public string? Id { get; set; }

    public string? Customer { get; set; }

    public int Quantity { get; set; }

    public long UnitPriceCents { get; set; }
}

/// <summary>What <see cref="Functions.EnrichOrder"/> returns; Compact type <c>order-view</c> when the input was Compact.</summary>
[CompactType("order-view")]
public sealed class OrderView
{
    public string? Id { get; set; }

    public string? Customer { get; set; }

    public long TotalCents { get; set; }

    public bool Bulk { get; set; }
}
