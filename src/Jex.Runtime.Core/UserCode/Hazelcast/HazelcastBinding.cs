using System.Collections.Concurrent;
using System.Reflection;
using Jex.Hazelcast;
using Jex.UserCode.Compact;

namespace Jex.Runtime.UserCode.Hazelcast;

/// <summary>
/// FORMAT_HAZELCAST for user functions: built-in types, <c>[CompactType]</c> classes field by field,
/// types with a user <see cref="ICompactSerializer{T}"/>, and any other class as HazelcastJsonValue.
/// Also the format that starts each session's schema state (<see cref="HazelcastSessionState"/>). Codecs are
/// built once per type when functions are bound; they are shared by every session.
/// </summary>
internal sealed class HazelcastBinding(PayloadCodecs codecs) : IHazelcastBinding, IPayloadFormat
{
    private readonly object _gate = new();
    private readonly List<Assembly> _assemblies = [];
    private readonly Dictionary<Assembly, Dictionary<Type, Type>> _serializersByAssembly = [];
    // Under _gate while building, so a type can refer to itself; read lock-free once published.
    private readonly Dictionary<Type, object?> _building = [];
    private readonly ConcurrentDictionary<Type, object?> _compactCodecs = new();
    private readonly ConcurrentDictionary<Type, object?> _converters = new();

    public void AddUserAssembly(Assembly assembly)
    {
        lock (_gate)
        {
            if (!_assemblies.Contains(assembly))
            {
                _assemblies.Add(assembly);
            }
        }
    }

    public string? Describe(Type type) => CompactCodecFor(type) is { } codec
        ? "compact:" + (string)codec.GetType().GetProperty(nameof(CompactTypeCodec<object>.TypeName))!.GetValue(codec)!
        : null;

    public HazelcastCodec<T> CodecFor<T>()
    {
        var type = typeof(T);
        if (type == typeof(string))
        {
            return (HazelcastCodec<T>)(object)new StringValueCodec();
        }

        if (BuiltInValueCodec<T>.Handles(type))
        {
            return new BuiltInValueCodec<T>();
        }

        if (CompactCodecFor(type) is CompactTypeCodec<T> compact)
        {
            return new CompactValueCodec<T>(compact, codecs.Json);
        }

        return new JsonValueCodec<T>(codecs.Json);
    }

    /// <summary>The field converter for <typeparamref name="T"/>; throws naming the type when none maps it.</summary>
    public FieldConverter<T> ConverterFor<T>() =>
        ConverterFor(typeof(T)) as FieldConverter<T>
        ?? throw new HazelcastCodecException($"a {typeof(T).Name} has no Compact field kind");

    /// <summary>A <c>FieldConverter&lt;type&gt;</c>, or null when no field kind maps the type.</summary>
    public object? ConverterFor(Type type)
    {
        if (_converters.TryGetValue(type, out var cached))
        {
            return cached;
        }

        object? converter = FieldConverters.Find(type);
        if (converter is null && CompactCodecFor(type) is { } codec)
        {
            converter = Activator.CreateInstance(typeof(CompactConverter<>).MakeGenericType(type), codec);
        }
        else if (converter is null && type.IsArray && type.GetArrayRank() == 1 && CompactCodecFor(type.GetElementType()!) is { } elementCodec)
        {
            converter = Activator.CreateInstance(typeof(CompactArrayConverter<>).MakeGenericType(type.GetElementType()!), elementCodec);
        }

        return _converters.GetOrAdd(type, converter);
    }

    /// <summary>
    /// The <c>CompactTypeCodec&lt;type&gt;</c> when the type has a user serializer (which wins) or
    /// <c>[CompactType]</c>; null otherwise. A mapping that cannot work throws <see cref="NotSupportedException"/>.
    /// </summary>
    public object? CompactCodecFor(Type type)
    {
        if (_compactCodecs.TryGetValue(type, out var published))
        {
            return published;
        }

        lock (_gate)
        {
            if (_building.TryGetValue(type, out var inProgress))
            {
                return inProgress;
            }

            object? codec = null;
            if (FindSerializer(type) is { } serializerType)
            {
                object serializer;
                try
                {
                    serializer = Activator.CreateInstance(serializerType)!;
                }
                catch (TargetInvocationException e)
                {
                    throw new NotSupportedException($"cannot create {serializerType.FullName}: {e.InnerException?.Message}", e.InnerException);
                }

                codec = Activator.CreateInstance(typeof(SerializerCompactCodec<>).MakeGenericType(type), serializer, this);
                _building[type] = codec;
            }
            else if (type.GetCustomAttribute<CompactTypeAttribute>() is { } attribute)
            {
                if (!type.IsClass)
                {
                    throw new NotSupportedException($"[CompactType] {type.Name} must be a class");
                }

                codec = Activator.CreateInstance(typeof(PocoCompactCodec<>).MakeGenericType(type), attribute.TypeName);
                _building[type] = codec;
                try
                {
                    codec!.GetType().GetMethod(nameof(PocoCompactCodec<object>.Initialize))!.Invoke(codec, [this]);
                }
                catch (TargetInvocationException e) when (e.InnerException is NotSupportedException inner)
                {
                    _building.Remove(type);
                    throw inner;
                }
            }

            return _compactCodecs.GetOrAdd(type, codec);
        }
    }

    private Type? FindSerializer(Type type)
    {
        var assemblies = _assemblies.Contains(type.Assembly) ? _assemblies : [.. _assemblies, type.Assembly];
        Type? found = null;
        foreach (var assembly in assemblies)
        {
            if (SerializersIn(assembly).TryGetValue(type, out var candidate))
            {
                if (found is not null && found != candidate)
                {
                    throw new NotSupportedException($"{type.Name} has two Compact serializers: {found.FullName} and {candidate.FullName}");
                }

                found = candidate;
            }
        }

        return found;
    }

    private Dictionary<Type, Type> SerializersIn(Assembly assembly)
    {
        if (_serializersByAssembly.TryGetValue(assembly, out var map))
        {
            return map;
        }

        map = [];
        Type[] types;
        try
        {
            types = assembly.GetExportedTypes();
        }
        catch (Exception e) when (e is ReflectionTypeLoadException or FileNotFoundException or FileLoadException or NotSupportedException)
        {
            // The loader reports an assembly whose types cannot load; no serializers from it.
            types = [];
        }

        foreach (var t in types)
        {
            if (!t.IsClass || t.IsAbstract || t.ContainsGenericParameters || t.GetConstructor(Type.EmptyTypes) is null)
            {
                continue;
            }

            foreach (var i in t.GetInterfaces())
            {
                if (i.IsGenericType && i.GetGenericTypeDefinition() == typeof(ICompactSerializer<>))
                {
                    var target = i.GetGenericArguments()[0];
                    if (map.TryGetValue(target, out var other))
                    {
                        throw new NotSupportedException($"{target.Name} has two Compact serializers: {other.FullName} and {t.FullName}");
                    }

                    map[target] = t;
                }
            }
        }

        _serializersByAssembly[assembly] = map;
        return map;
    }

    public string Capability => "compact";

    public IFormatSession StartSession() => new HazelcastSessionState();
}
