#!/usr/bin/env bash
# The Jex.Testing package as a function author gets it (issue #13): a test project that references
# only packages from out/packages (Jex.Testing, and through it Jex.UserCode) builds and passes.
#
# In a temporary folder outside the repository, whose only addition is a nuget.config naming
# out/packages as an extra source, it writes:
#   fn/            a function library with <PackageReference Include="Jex.UserCode" />
#   fn-excluded/   the same library with the old advice, ExcludeAssets="runtime" on Jex.UserCode
#   tests/         xunit + <PackageReference Include="Jex.Testing" />, a ProjectReference to fn/
#   tests-excluded/ the same tests against fn-excluded/ (the FileNotFoundException of issue #13, item 4)
# and runs dotnet test in each test project. Nothing references the repository's projects.
# Packs first (./demo.sh pack) when out/packages lacks Jex.Testing or Jex.UserCode, or a source
# file is newer than them. NuGet's package folder and the dotnet home are private to the run, so a
# package packed again at the same version is not taken from an older cache.
# Last line: "testing-package: N passed, N failed", N counted from dotnet test's results; exits 1
# on any failure. The folder is removed at the end.
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/packages.sh
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

ensure_packages testing-package Jex.UserCode Jex.Testing || { echo "testing-package: 0 passed, 1 failed"; exit 1; }
VERSION=$(ls "$PACKAGES"/Jex.Testing.[0-9]*.nupkg | head -1 | sed -E 's/.*Jex\.Testing\.([0-9][^/]*)\.nupkg$/\1/')

TMP=$(mktemp -d /tmp/jex-testing-package.XXXXXX)
export DOTNET_CLI_HOME=$TMP/home NUGET_PACKAGES=$TMP/nuget-packages
trap 'rm -rf "$TMP"' EXIT
write_nuget_config "$TMP"

# write_library DIR REFERENCE: a function library whose Jex.UserCode reference is REFERENCE.
write_library() {
  mkdir -p "$TMP/$1"
  cat >"$TMP/$1/Acme.Fn.csproj" <<EOF
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <TargetFramework>net10.0</TargetFramework>
    <Nullable>enable</Nullable>
    <ImplicitUsings>enable</ImplicitUsings>
  </PropertyGroup>
  <ItemGroup>
    $2
  </ItemGroup>
</Project>
EOF
  cat >"$TMP/$1/Functions.cs" <<'EOF'
using Jex.UserCode;
using Jex.UserCode.Compact;
using Microsoft.Extensions.Logging;

namespace Acme.Fn;

[CompactType("reading")]
public sealed class Reading
{
    public string? Sensor { get; set; }

    public double Celsius { get; set; }
}

[CompactType("fahrenheit")]
public sealed class Fahrenheit
{
    public string? Sensor { get; set; }

    public double Degrees { get; set; }
}

public static class Functions
{
    [JexFunction("toFahrenheit")]
    public static Fahrenheit ToFahrenheit(Reading reading, IJexContext context)
    {
        if (reading.Celsius < -273.15)
        {
            throw new ArgumentOutOfRangeException(nameof(reading), $"{reading.Celsius} C is below absolute zero");
        }

        context.Logger.LogInformation("converted {Sensor}", reading.Sensor);
        return new Fahrenheit { Sensor = reading.Sensor, Degrees = (reading.Celsius * 9 / 5) + 32 };
    }

    [JexFunction("words")]
    public static IEnumerable<string> Words(string line, IJexContext context)
    {
        var min = context.Settings.TryGetValue("min-length", out var value) ? int.Parse(value) : 1;
        return line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(w => w.Length >= min);
    }

    [JexFunction("tagEntry")]
    public static MapEntry<string, string> TagEntry(MapEntry<string, string> entry) =>
        new(entry.Key + ":tagged", entry.Value.ToUpperInvariant());
}
EOF
}

# write_tests DIR LIBRARY: an xunit project on the Jex.Testing package and ../LIBRARY.
write_tests() {
  mkdir -p "$TMP/$1"
  cat >"$TMP/$1/Acme.Fn.Tests.csproj" <<EOF
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <TargetFramework>net10.0</TargetFramework>
    <Nullable>enable</Nullable>
    <ImplicitUsings>enable</ImplicitUsings>
    <IsPackable>false</IsPackable>
    <IsTestProject>true</IsTestProject>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="Jex.Testing" Version="$VERSION" />
    <PackageReference Include="Microsoft.NET.Test.Sdk" Version="18.0.1" />
    <PackageReference Include="xunit" Version="2.9.3" />
    <PackageReference Include="xunit.runner.visualstudio" Version="3.1.5" />
    <ProjectReference Include="../$2/Acme.Fn.csproj" />
  </ItemGroup>
  <ItemGroup>
    <Using Include="Xunit" />
  </ItemGroup>
</Project>
EOF
  cat >"$TMP/$1/FunctionsTests.cs" <<'EOF'
using System.Text;
using Acme.Fn;
using Jex.Testing;
using Microsoft.Extensions.Logging;

namespace Acme.Fn.Tests;

public sealed class FunctionsTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task ToFahrenheit_Json_WritesCamelCaseJsonKeyedLikeTheInput()
    {
        var f = JexFunction.Load<Reading>("toFahrenheit");

        var result = await f.InvokeAsync(JexInput.Json("""{"sensor":"s1","celsius":100}""").WithKey("s1")).WaitAsync(Timeout);

        var output = Assert.Single(result.Outputs);
        Assert.Equal("""{"sensor":"s1","degrees":212}""", Encoding.UTF8.GetString(output.Value));
        Assert.Equal(JexFormat.Json, output.ValueFormat);
        Assert.Equal("s1", output.KeyText);
    }

    [Fact]
    public async Task ToFahrenheit_Compact_RoundTripsWithTheOutputSchema()
    {
        var f = JexFunction.Load<Reading>("toFahrenheit");

        var result = await f.InvokeAsync(JexInput.Compact(new Reading { Sensor = "s2", Celsius = 0 }).WithKey("s2")).WaitAsync(Timeout);

        Assert.Equal(32, result.Compact<Fahrenheit>().Degrees);
        Assert.Equal("fahrenheit", Assert.Single(result.Schemas).TypeName);
        Assert.Equal("s2", result.Outputs[0].KeyAsHazelcastString());
    }

    [Fact]
    public async Task ToFahrenheit_BelowAbsoluteZero_GivesTheItemError()
    {
        var f = JexFunction.Load<Reading>("toFahrenheit");

        var result = await f.InvokeAsync(JexInput.Json("""{"sensor":"s3","celsius":-300}""")).WaitAsync(Timeout);

        Assert.Equal(JexErrorCode.UserException, result.Error?.Code);
        Assert.Equal("System.ArgumentOutOfRangeException", result.Error?.Type);
        Assert.StartsWith("-300 C is below absolute zero", result.Error?.Message, StringComparison.Ordinal);
        Assert.Contains("Acme.Fn.Functions.ToFahrenheit", result.Error?.Stack, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ToFahrenheit_LogsThroughTheContext()
    {
        var f = JexFunction.Load<Reading>("toFahrenheit");
        var context = new TestJexContext();

        await f.InvokeAsync(JexInput.Json("""{"sensor":"s4","celsius":1}"""), context).WaitAsync(Timeout);

        var log = Assert.Single(context.Logs);
        Assert.Equal((LogLevel.Information, "converted s4"), (log.Level, log.Message));
    }

    [Fact]
    public async Task Words_HonoursTheMinLengthSetting()
    {
        var f = JexFunction.Load<Reading>("words");
        var context = new TestJexContext { Settings = { ["min-length"] = "4" } };

        var result = await f.InvokeAsync(JexInput.Text("the quick brown fox"), context).WaitAsync(Timeout);

        Assert.Equal(["quick", "brown"], result.Texts);
    }

    [Fact]
    public async Task TagEntry_KeysTheOutputByTheEntry()
    {
        var f = JexFunction.Load<Reading>("tagEntry");

        var result = await f.InvokeAsync(JexInput.Entry("k", JexInput.Text("v"))).WaitAsync(Timeout);

        Assert.Equal(("k:tagged", "V"), (result.Outputs[0].KeyText, result.Outputs[0].Text));
    }

    [Fact]
    public void Words_CalledDirectlyWithTestJexContext_Works()
    {
        var context = new TestJexContext { Settings = { ["min-length"] = "2" } };

        Assert.Equal(["ab", "abc"], Functions.Words("a ab abc", context));
        context.Logger.LogWarning("direct");
        Assert.Equal("direct", Assert.Single(context.Logs).Message);
    }

    [Fact]
    public async Task LoadByPath_TheBuiltLibrary_RunsInItsOwnLoadContext()
    {
        var dll = Path.Combine(Environment.GetEnvironmentVariable("ACME_FN_BIN")!, "Acme.Fn.dll");
        var f = JexFunction.Load(dll, "toFahrenheit");

        var result = await f.InvokeAsync(JexInput.Json("""{"sensor":"s5","celsius":100}""")).WaitAsync(Timeout);

        Assert.Equal(dll, f.AssemblyPath);
        Assert.Equal("""{"sensor":"s5","degrees":212}""", Assert.Single(result.Texts));
    }
}
EOF
}

write_library fn '<PackageReference Include="Jex.UserCode" Version="'"$VERSION"'" />'
write_library fn-excluded '<PackageReference Include="Jex.UserCode" Version="'"$VERSION"'" ExcludeAssets="runtime" />'
write_tests tests fn
write_tests tests-excluded fn-excluded

PASSED=0 FAILED=0
for t in tests tests-excluded; do
  lib=fn; [ "$t" = tests-excluded ] && lib=fn-excluded
  log=$TMP/$t.log
  (cd "$TMP/$t" && ACME_FN_BIN="$TMP/$lib/bin/Debug/net10.0" timeout 900 dotnet test) >"$log" 2>&1
  rc=$?
  summary=$(grep -E '(Passed|Failed)!' "$log" | tail -1)
  p=$(sed -nE 's/.*Passed: *([0-9]+).*/\1/p' <<<"$summary"); f=$(sed -nE 's/.*Failed: *([0-9]+),.*/\1/p' <<<"$summary")
  if [ -z "$summary" ]; then
    p=0; f=1
    echo "testing-package: $t: dotnet test gave no result (exit $rc):"; grep -E 'error|Error' "$log" | sort -u | head -20 | sed 's/^/    /'
    [ "$(grep -cE 'error|Error' "$log")" -eq 0 ] && tail -25 "$log" | sed 's/^/    /'
  elif [ "$rc" -ne 0 ] || [ "${f:-0}" -ne 0 ]; then
    echo "testing-package: $t ($lib): $summary"; grep -E '^\s+Failed |Error Message|^\s{3}\S' "$log" | head -30 | sed 's/^/    /'
    [ "${f:-0}" -eq 0 ] && f=1
  else
    echo "testing-package: $t ($lib, Jex.UserCode: $(grep -o 'PackageReference Include="Jex.UserCode"[^/]*' "$TMP/$lib/Acme.Fn.csproj")): $summary"
  fi
  PASSED=$((PASSED + ${p:-0})); FAILED=$((FAILED + ${f:-0}))
done
echo "testing-package: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
