using Jex.Cli.Run;
using OpenTelemetry.Exporter;

namespace Jex.Cli.Tests.Run;

public sealed class OtlpExportTests
{
    [Fact]
    public void Parse_WithNoProtocol_PostsSpansOverHttpToTheCollectorsTracesPath_AndTellsTheRuntimeTheSame()
    {
        var export = OtlpExport.Parse("http://collector:4318", null);

        Assert.Equal(OtlpExportProtocol.HttpProtobuf, export.Protocol);
        Assert.Equal(new Uri("http://collector:4318/v1/traces"), export.TracesEndpoint);
        Assert.Equal(["--UserCode:Otlp:Endpoint=http://collector:4318", "--UserCode:Otlp:Protocol=http/protobuf"], export.RuntimeArguments());
    }

    [Fact]
    public void Parse_WithGrpc_ExportsToTheEndpointAsGiven()
    {
        var export = OtlpExport.Parse("http://collector:4317", "grpc");

        Assert.Equal(new Uri("http://collector:4317"), export.TracesEndpoint);
        Assert.Equal("--UserCode:Otlp:Protocol=grpc", export.RuntimeArguments()[1]);
    }

    [Theory]
    [InlineData("http://collector:4318/otel", "http://collector:4318/otel/v1/traces")]
    [InlineData("http://collector:4318/otel/v1/traces", "http://collector:4318/otel/v1/traces")]
    public void Parse_WithHttpAndAPath_AddsTheTracesPathOnce(string endpoint, string traces) =>
        Assert.Equal(new Uri(traces), OtlpExport.Parse(endpoint, "http/protobuf").TracesEndpoint);

    [Theory]
    [InlineData("collector:4317")]
    [InlineData("ftp://collector:4317")]
    [InlineData("not a uri")]
    public void Parse_WhenTheEndpointIsNotAnHttpAddress_SaysWhatItTakes(string endpoint)
    {
        var ex = Assert.Throws<ArgumentException>(() => OtlpExport.Parse(endpoint, null));

        Assert.Equal($"--otlp: '{endpoint}' is not an http:// or https:// address of an OpenTelemetry collector (e.g. http://127.0.0.1:4318, or :4317 with --otlp-protocol grpc)", ex.Message);
    }

    [Fact]
    public void Parse_WhenTheProtocolIsUnknown_NamesTheChoices()
    {
        var ex = Assert.Throws<ArgumentException>(() => OtlpExport.Parse("http://collector:4317", "zipkin"));

        Assert.Equal("--otlp-protocol: 'zipkin' is not one of grpc, http/protobuf", ex.Message);
    }
}
