namespace Jex.Hazelcast.Values;

/// <summary>Hazelcast's <c>HazelcastJsonValue</c> (type id -130): JSON text, kept exactly as written.</summary>
internal sealed record HazelcastJsonValue(string Text)
{
    public override string ToString() => Text;
}
