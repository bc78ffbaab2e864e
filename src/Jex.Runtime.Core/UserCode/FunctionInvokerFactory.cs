using System.Linq.Expressions;
using System.Reflection;
using Jex.Protocol.V1;
using Jex.UserCode;

namespace Jex.Runtime.UserCode;

/// <summary>
/// Builds a <see cref="FunctionInvoker"/> for a user method: a compiled delegate for the call, an
/// input reader for its first parameter and a result sink for its return type. Everything is decided
/// here, once, so the per-item path has no reflection. In two steps: <see cref="Plan"/> runs at load
/// (refuses a bad signature, builds the binders, describes the signature) and <see cref="Build"/>
/// compiles the call when the function is first used, so a function no session names costs no
/// expression compilation at startup.
/// </summary>
internal static class FunctionInvokerFactory
{
    /// <summary><see cref="Plan"/> then <see cref="Build"/>.</summary>
    public static FunctionInvoker Create(MethodInfo method, object? target, PayloadCodecs codecs) => Build(Plan(method, target, codecs));

    /// <summary>
    /// Everything but the compilation. Throws <see cref="NotSupportedException"/> naming the problem
    /// for a signature or a type the runtime cannot bind. The binders are built here, not deferred:
    /// building them is the check (PayloadCodecs.BinderFor and the Hazelcast binding refuse a type
    /// there) and is cheap next to the compilation, which is deferred (docs/performance.md, "Startup").
    /// </summary>
    public static FunctionPlan Plan(MethodInfo method, object? target, PayloadCodecs codecs)
    {
        if (method.IsGenericMethodDefinition)
        {
            throw new NotSupportedException("generic methods are not supported; give the parameter a concrete type");
        }

        var parameters = method.GetParameters();
        if (parameters.Length == 0)
        {
            throw new NotSupportedException("a function takes the item as its first parameter");
        }

        var inputType = parameters[0].ParameterType;
        if (inputType == typeof(IJexContext) || inputType == typeof(CancellationToken))
        {
            throw new NotSupportedException("the first parameter must be the item, not the context or a token");
        }

        var takesContext = false;
        foreach (var p in parameters.Skip(1))
        {
            if (p.ParameterType == typeof(IJexContext))
            {
                takesContext = true;
            }
            else if (p.ParameterType != typeof(CancellationToken))
            {
                throw new NotSupportedException(
                    $"parameter '{p.Name}' has type {p.ParameterType.Name}; after the item only IJexContext and CancellationToken are allowed");
            }
        }

        if (parameters.Any(p => p.ParameterType.IsByRef))
        {
            throw new NotSupportedException("ref, out and in parameters are not supported");
        }

        var input = CreateInput(inputType, codecs);
        var (returnType, sink, output, element, cardinality, isAsync) = CreateSink(method.ReturnType, codecs);

        var signature = new FunctionSignature
        {
            Name = method.GetCustomAttribute<JexFunctionAttribute>()?.Name ?? method.Name,
            Method = $"{method.DeclaringType?.FullName}.{method.Name}",
            Input = codecs.Describe(inputType),
            Output = output,
            Cardinality = cardinality,
            IsAsync = isAsync,
            TakesContext = takesContext,
        };

        return new FunctionPlan(method, target, inputType, returnType, input, sink, signature, new SignatureLabels(codecs, inputType, element));
    }

    /// <summary>Compiles the call and assembles the invoker; Expression.Compile is the costly step, so it runs at first use.</summary>
    public static FunctionInvoker Build(FunctionPlan plan)
    {
        var call = CompileCall(plan.Method, plan.Target, plan.InputType, plan.ReturnType);
        var invokerType = typeof(FunctionInvoker<,>).MakeGenericType(plan.InputType, plan.ReturnType);
        var invoker = (FunctionInvoker)Activator.CreateInstance(invokerType, plan.Signature, call, plan.Input, plan.Sink)!;
        invoker.Labels = plan.Labels;
        return invoker;
    }

    /// <summary>(TIn input, InvocationContext ctx) =&gt; target.Method(input, ctx | ctx.CancellationToken ...).</summary>
    private static Delegate CompileCall(MethodInfo method, object? target, Type inputType, Type returnType)
    {
        var input = Expression.Parameter(inputType, "input");
        var context = Expression.Parameter(typeof(InvocationContext), "context");
        var arguments = new List<Expression> { input };
        foreach (var p in method.GetParameters().Skip(1))
        {
            arguments.Add(p.ParameterType == typeof(IJexContext)
                ? Expression.Convert(context, typeof(IJexContext))
                : Expression.Property(context, nameof(InvocationContext.CancellationToken)));
        }

        Expression body = method.IsStatic
            ? Expression.Call(method, arguments)
            : Expression.Call(Expression.Constant(target, method.DeclaringType!), method, arguments);
        if (method.ReturnType == typeof(void))
        {
            body = Expression.Block(body, Expression.Constant(null, typeof(object)));
        }

        var delegateType = typeof(Func<,,>).MakeGenericType(inputType, typeof(InvocationContext), returnType);
        return Expression.Lambda(delegateType, body, input, context).Compile();
    }

    private static object CreateInput(Type type, PayloadCodecs codecs)
    {
        var description = codecs.Describe(type);
        if (IsMapEntry(type, out var keyType, out var valueType))
        {
            return Activator.CreateInstance(
                typeof(EntryInput<,>).MakeGenericType(keyType, valueType),
                codecs.BinderFor(keyType), codecs.BinderFor(valueType), description)!;
        }

        return Activator.CreateInstance(typeof(ValueInput<>).MakeGenericType(type), codecs.BinderFor(type), description)!;
    }

    /// <summary>The sink for a return type, with the type of each output value (null when there is none).</summary>
    private static (Type ReturnType, object Sink, string Output, Type? Element, FunctionSignature.Types.Cardinality Cardinality, bool IsAsync) CreateSink(
        Type returnType, PayloadCodecs codecs)
    {
        if (returnType == typeof(void))
        {
            return (typeof(object), new NoOutputSink<object>(), "void", null, FunctionSignature.Types.Cardinality.None, false);
        }

        if (returnType == typeof(Task) || returnType == typeof(ValueTask))
        {
            return (returnType, Activator.CreateInstance(typeof(NoOutputSink<>).MakeGenericType(returnType))!, "void", null,
                FunctionSignature.Types.Cardinality.None, true);
        }

        if (returnType.IsGenericType && returnType.GetGenericTypeDefinition() == typeof(ValueTask<>))
        {
            var inner = returnType.GetGenericArguments()[0];
            var (_, innerSink, output, element, cardinality, _) = CreateSink(inner, codecs);
            return (returnType, Activator.CreateInstance(typeof(ValueTaskSink<>).MakeGenericType(inner), innerSink)!, output, element, cardinality, true);
        }

        if (typeof(Task).IsAssignableFrom(returnType) && FindGeneric(returnType, typeof(Task<>)) is { } taskType)
        {
            var inner = taskType.GetGenericArguments()[0];
            var (_, innerSink, output, element, cardinality, _) = CreateSink(inner, codecs);
            return (returnType, Activator.CreateInstance(typeof(TaskSink<,>).MakeGenericType(returnType, inner), innerSink)!, output, element, cardinality, true);
        }

        if (FindGenericInterface(returnType, typeof(IAsyncEnumerable<>)) is { } asyncEnumerable)
        {
            var element = asyncEnumerable.GetGenericArguments()[0];
            var (writer, output) = CreateWriter(element, codecs);
            return (returnType, Activator.CreateInstance(typeof(AsyncEnumerableSink<,>).MakeGenericType(returnType, element), writer)!,
                output, element, FunctionSignature.Types.Cardinality.Many, true);
        }

        if (!IsScalarPayload(returnType) && FindGenericInterface(returnType, typeof(IEnumerable<>)) is { } enumerable)
        {
            var element = enumerable.GetGenericArguments()[0];
            var (writer, output) = CreateWriter(element, codecs);
            return (returnType, Activator.CreateInstance(typeof(EnumerableSink<,>).MakeGenericType(returnType, element), writer)!,
                output, element, FunctionSignature.Types.Cardinality.Many, false);
        }

        var (singleWriter, singleOutput) = CreateWriter(returnType, codecs);
        return (returnType, Activator.CreateInstance(typeof(SingleSink<>).MakeGenericType(returnType), singleWriter)!,
            singleOutput, returnType, FunctionSignature.Types.Cardinality.One, false);
    }

    private static (object Writer, string Description) CreateWriter(Type type, PayloadCodecs codecs)
    {
        if (IsMapEntry(type, out var keyType, out var valueType))
        {
            return (Activator.CreateInstance(typeof(EntryOutput<,>).MakeGenericType(keyType, valueType),
                codecs.BinderFor(keyType), codecs.BinderFor(valueType))!, codecs.Describe(type));
        }

        return (Activator.CreateInstance(typeof(ValueOutput<>).MakeGenericType(type), codecs.BinderFor(type))!, codecs.Describe(type));
    }

    /// <summary>Types that are enumerable but mean one payload.</summary>
    private static bool IsScalarPayload(Type type) =>
        type == typeof(string) || type == typeof(byte[]) || type == typeof(ReadOnlyMemory<byte>) || IsMapEntry(type, out _, out _);

    private static bool IsMapEntry(Type type, out Type keyType, out Type valueType)
    {
        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(MapEntry<,>))
        {
            var args = type.GetGenericArguments();
            (keyType, valueType) = (args[0], args[1]);
            return true;
        }

        (keyType, valueType) = (typeof(void), typeof(void));
        return false;
    }

    private static Type? FindGeneric(Type type, Type definition)
    {
        for (var t = type; t is not null; t = t.BaseType)
        {
            if (t.IsGenericType && t.GetGenericTypeDefinition() == definition)
            {
                return t;
            }
        }

        return null;
    }

    private static Type? FindGenericInterface(Type type, Type definition) =>
        type.IsInterface && type.IsGenericType && type.GetGenericTypeDefinition() == definition
            ? type
            : type.GetInterfaces().FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == definition);
}

/// <summary>A method accepted at load: its binders and signature, waiting for <see cref="FunctionInvokerFactory.Build"/>.</summary>
internal sealed record FunctionPlan(
    MethodInfo Method, object? Target, Type InputType, Type ReturnType, object Input, object Sink, FunctionSignature Signature, SignatureLabels Labels);
