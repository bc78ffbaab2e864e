using Jex.FunctionalTests.Member;

namespace Jex.FunctionalTests.Cli;

/// <summary>
/// A function author's folder outside the repository, written once per test class: a .csproj
/// (Jex.UserCode from out/runtime, so it builds offline), job.yml naming only that .csproj, and
/// data/input.jsonl. <c>jex run</c> builds it into src/Acme.Fn/obj/jex/bin.
/// </summary>
public sealed class FunctionProject : IDisposable
{
    public FunctionProject()
    {
        JexCli.RequireBuilt();
        Root = Directory.CreateTempSubdirectory("jex-cli-fn-").FullName;
        var src = Directory.CreateDirectory(Path.Combine(Root, "src", "Acme.Fn")).FullName;
        System.IO.File.WriteAllText(Path.Combine(src, "Acme.Fn.csproj"), ProjectXml());
        System.IO.File.WriteAllText(Path.Combine(src, "Functions.cs"), """
            using System;
            using Jex.UserCode;

            namespace Acme.Fn;

            public sealed class Order
            {
                public string? Id { get; set; }
                public int Quantity { get; set; }
            }

            public sealed class View
            {
                public string? Id { get; set; }
                public bool Bulk { get; set; }
            }

            public static class Functions
            {
                [JexFunction("bulk10")]
                public static View Bulk10(Order order) => new() { Id = order.Id, Bulk = order.Quantity >= 10 };

                // The same function with a changed threshold: only orders of 10 to 19 come out different.
                [JexFunction("bulk20")]
                public static View Bulk20(Order order) => new() { Id = order.Id, Bulk = order.Quantity >= 20 };

                // Not inlined into the runtime's invoker, so the stack names it.
                [JexFunction("strict")]
                [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
                public static View Strict(Order order) =>
                    order.Quantity < 0
                        ? throw new ArgumentOutOfRangeException(nameof(order), $"negative quantity in {order.Id}")
                        : new() { Id = order.Id, Bulk = order.Quantity >= 10 };
            }
            """);
        Directory.CreateDirectory(Path.Combine(Root, "data"));
        System.IO.File.WriteAllLines(Path.Combine(Root, "data", "input.jsonl"),
        [
            """{"key": "o-1", "value": {"id": "o-1", "quantity": 2}}""",
            """{"key": "o-2", "value": {"id": "o-2", "quantity": 12}}""",
            """{"key": "o-3", "value": {"id": "o-3", "quantity": 25}}""",
            """{"key": "o-4", "value": {"id": "o-4", "quantity": -1}}""",
        ]);
        Job = WriteJob("job.yml", "bulk10", "src/Acme.Fn/Acme.Fn.csproj");
    }

    public string Root { get; }

    /// <summary>job.yml: function bulk10, runtime section with user-code only.</summary>
    public string Job { get; }

    public string Project => Path.Combine(Root, "src", "Acme.Fn", "Acme.Fn.csproj");

    public string BuiltFolder => Path.Combine(Root, "src", "Acme.Fn", "obj", "jex", "bin");

    public string File(string name) => Path.Combine(Root, name);

    /// <summary>Writes a job file in the project's folder; relative paths in it are relative to that folder.</summary>
    public string WriteJob(string name, string function, string userCode)
    {
        var path = Path.Combine(Root, name);
        System.IO.File.WriteAllText(path, $"""
            job:
              name: acme
              pipeline:
                - source: map-journal
                  map-name: input
                - transform: user-code
                  function: {function}
                  runtime:
                    user-code: {userCode}
                - sink: map
                  map-name: output
            """);
        return path;
    }

    /// <summary>A function library's .csproj that references the built Jex.UserCode (out/runtime), as a user's would.</summary>
    public static string ProjectXml() => $"""
        <Project Sdk="Microsoft.NET.Sdk">
          <PropertyGroup>
            <TargetFramework>net10.0</TargetFramework>
            <Nullable>enable</Nullable>
            <EnableDynamicLoading>true</EnableDynamicLoading>
          </PropertyGroup>
          <ItemGroup>
            <Reference Include="Jex.UserCode">
              <HintPath>{Path.Combine(JexCli.Out, "runtime", "Jex.UserCode.dll")}</HintPath>
              <Private>false</Private>
            </Reference>
          </ItemGroup>
        </Project>
        """;

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
