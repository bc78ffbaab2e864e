using System.Collections.Concurrent;
using Jex.Hazelcast.Compact;

namespace Jex.Runtime.UserCode.Hazelcast;

/// <summary>
/// What one session knows about Compact schemas: those the member announced (readers look ids up
/// here) and, of the schemas user code writes, which the member has already been sent, so each
/// reaches it exactly once, before the first result that uses it.
/// </summary>
internal sealed class HazelcastSessionState
{
    // Ids the member knows: it announced them, or they are queued for it in PendingSchemas.
    private readonly ConcurrentDictionary<long, bool> _memberKnows = new();

    /// <summary>Schemas for reading this session's items: the member's, plus those the runtime sent it.</summary>
    public SchemaRegistry Schemas { get; } = new();

    public static HazelcastSessionState For(SessionInfo session)
    {
        if (session.HazelcastState is HazelcastSessionState state)
        {
            return state;
        }

        // Once per session; the reader loop (Schemas) and batches (writes) may race to create it.
        lock (session)
        {
            session.HazelcastState ??= new HazelcastSessionState();
            return (HazelcastSessionState)session.HazelcastState;
        }
    }

    /// <summary>A schema from the member's Schemas message; throws <see cref="Jex.Hazelcast.HazelcastCodecException"/> when its id is taken by other fields.</summary>
    public void AddFromMember(Schema schema)
    {
        Schemas.Register(schema);
        _memberKnows.TryAdd(schema.Id, true);
    }

    /// <summary>
    /// Records that a result uses <paramref name="schema"/>; the first time, queues it in
    /// <see cref="SessionInfo.PendingSchemas"/> for the dispatcher to send before the result.
    /// </summary>
    public void Announce(Schema schema, SessionInfo session)
    {
        if (!_memberKnows.ContainsKey(schema.Id))
        {
            AnnounceSlow(schema, session);
        }
    }

    private void AnnounceSlow(Schema schema, SessionInfo session)
    {
        var pending = session.PendingSchemas;
        // Under the lock the dispatcher takes to drain the list: the schema is queued before its
        // id is marked known, so a batch that sees the id known (and skips queueing) cannot send
        // its result before the queued schema is visible to whichever batch sends first.
        lock (pending)
        {
            if (_memberKnows.ContainsKey(schema.Id))
            {
                return;
            }

            Schemas.Register(schema);
            pending.Add(SchemaMessages.ToProto(schema));
            _memberKnows[schema.Id] = true;
        }
    }
}
