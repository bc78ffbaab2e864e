using System.Collections.Concurrent;
using System.Text;
using Jex.Hazelcast;
using Jex.Hazelcast.Compact;
using Jex.Protocol.V1;

namespace Jex.Runtime.UserCode.Hazelcast;

/// <summary>
/// What one session knows about Compact schemas: those the member announced (readers look ids up
/// here) and, of the schemas user code writes, which the member has already been sent, so each
/// reaches it exactly once, before the first result that uses it.
/// </summary>
internal sealed class HazelcastSessionState : IFormatSession
{
    // Ids the member knows: it announced them, or they are queued for it in _pending.
    private readonly ConcurrentDictionary<long, bool> _memberKnows = new();

    // Schemas user code created that the member has not been sent yet; also the lock that orders
    // queueing against taking.
    private readonly List<CompactSchema> _pending = [];

    /// <summary>Schemas for reading this session's items: the member's, plus those the runtime sent it.</summary>
    public SchemaRegistry Schemas { get; } = new();

    /// <summary>The session's state; throws when the session was started without the Hazelcast format.</summary>
    public static HazelcastSessionState For(SessionInfo session) =>
        session.Format as HazelcastSessionState
        ?? throw new PayloadBindingException(
            $"session of function '{session.FunctionName}' has no Compact schema state; FORMAT_HAZELCAST needs a runtime built with the Hazelcast format");

    /// <summary>A schema from the member's Schemas message; throws <see cref="HazelcastCodecException"/> when its id is taken by other fields.</summary>
    public void AddFromMember(Schema schema)
    {
        Schemas.Register(schema);
        _memberKnows.TryAdd(schema.Id, true);
    }

    public void AcceptSchemas(Schemas schemas)
    {
        StringBuilder? errors = null;
        foreach (var proto in schemas.Schemas_)
        {
            try
            {
                AddFromMember(SchemaMessages.FromProto(proto));
            }
            catch (HazelcastCodecException e)
            {
                errors ??= new StringBuilder();
                errors.Append(errors.Length == 0 ? string.Empty : "; ").Append(e.Message);
            }
        }

        if (errors is not null)
        {
            throw new PayloadBindingException(errors.ToString());
        }
    }

    public RuntimeMessage? TakePending()
    {
        // The unlocked read is the common case (nothing new) and allocates nothing; a schema queued
        // by a batch is visible here because that batch queued it before its result was sent.
        if (_pending.Count == 0)
        {
            return null;
        }

        lock (_pending)
        {
            if (_pending.Count == 0)
            {
                return null;
            }

            var message = new RuntimeMessage { Schemas = new Schemas { Schemas_ = { _pending } } };
            _pending.Clear();
            return message;
        }
    }

    /// <summary>
    /// Records that a result uses <paramref name="schema"/>; the first time, queues it for
    /// <see cref="TakePending"/>, which sends it before the result.
    /// </summary>
    public void Announce(Schema schema)
    {
        if (!_memberKnows.ContainsKey(schema.Id))
        {
            AnnounceSlow(schema);
        }
    }

    private void AnnounceSlow(Schema schema)
    {
        // Under the lock TakePending takes to drain the list: the schema is queued before its id
        // is marked known, so a batch that sees the id known (and skips queueing) cannot send its
        // result before the queued schema is visible to whichever batch sends first.
        lock (_pending)
        {
            if (_memberKnows.ContainsKey(schema.Id))
            {
                return;
            }

            Schemas.Register(schema);
            _pending.Add(SchemaMessages.ToProto(schema));
            _memberKnows[schema.Id] = true;
        }
    }
}
