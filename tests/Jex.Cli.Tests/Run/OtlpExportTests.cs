using Jex.Cli.Run;
using OpenTelemetry.Exporter;

namespace Jex.Cli.Tests.Run;

public sealed class OtlpExportTests
{
    [Fact]
    public void Parse_WithNoProtocol_ExportsOverGrpcToTheEndpointAsGiven()
    {
        var export = OtlpExport.Parse("http://collector:4317", null);

        Assert.Equal(OtlpExportProtocol.Grpc, export.Protocol);
        Assert.Equal(new Uri("http://collector:4317"), export.TracesEndpoint);
        Assert.Equal(["--UserCode:Otlp:Endpoint=http://collector:4317", "--UserCode:Otlp:Protocol=grpc"], export.RuntimeArguments());
    }

    [Fact]
    public void Parse_WithHttpProtobufAndABareAddress_PostsSpansToTheTracesPath()
    {
        var export = OtlpExport.Parse("http://collector:4318", "http/protobuf");

        Assert.Equal(new Uri("http://collector:4318/v1/traces"), export.TracesEndpoint);
        Assert.Equal("--UserCode:Otlp:Protocol=http/protobuf", export.RuntimeArguments()[1]);
    }

    [Fact]
    public void Parse_WithHttpProtobufAndAFullPath_KeepsThePath() =>
        Assert.Equal(new Uri("http://collector:4318/custom/traces"), OtlpExport.Parse("http://collector:4318/custom/traces", "http/protobuf").TracesEndpoint);

    [Theory]
    [InlineData("collector:4317")]
    [InlineData("ftp://collector:4317")]
    [InlineData("not a uri")]
    public void Parse_WhenTheEndpointIsNotAnHttpAddress_SaysWhatItTakes(string endpoint)
    {
        var ex = Assert.Throws<ArgumentException>(() => OtlpExport.Parse(endpoint, null));

        Assert.Equal($"--otlp: '{endpoint}' is not an http:// or https:// address of an OpenTelemetry collector (e.g. http://127.0.0.1:4317 for OTLP over gRPC)", ex.Message);
    }

    [Fact]
    public void Parse_WhenTheProtocolIsUnknown_NamesTheChoices()
    {
        var ex = Assert.Throws<ArgumentException>(() => OtlpExport.Parse("http://collector:4317", "zipkin"));

        Assert.Equal("--otlp-protocol: 'zipkin' is not one of grpc, http/protobuf", ex.Message);
    }
}
