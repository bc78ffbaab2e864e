using Jex.Protocol.Contract;
using Jex.Runtime.Configuration;
using Microsoft.Extensions.Options;

namespace Jex.Runtime.Tests.Configuration;

public sealed class UserCodeOptionsValidatorTests
{
    private static UserCodeOptions Valid() => new() { Path = AppContext.BaseDirectory };

    [Fact]
    public void Defaults_WithAnExistingPath_AreValid() => Assert.Empty(UserCodeOptionsValidator.Validate(Valid()));

    [Fact]
    public void SharedMemory_WithoutUid_NamesTheKey()
    {
        var o = Valid();
        o.Transport = TransportKind.SharedMemory;
        Assert.Equal(["UserCode:Uid is required with UserCode:Transport=shared-memory"], UserCodeOptionsValidator.Validate(o));
    }

    [Fact]
    public void SocketInAMissingDirectory_NamesTheDirectory()
    {
        var o = Valid();
        o.Grpc.Socket = "/no/such/dir/jex.sock";
        Assert.Contains("directory '/no/such/dir' does not exist", Assert.Single(UserCodeOptionsValidator.Validate(o)), StringComparison.Ordinal);
    }

    [Fact]
    public void MetricsPort_OutOfRange_NamesTheKey()
    {
        var o = Valid();
        o.Metrics.Port = 70000;
        Assert.Equal(["UserCode:Metrics:Port 70000 is out of range 0..65535"], UserCodeOptionsValidator.Validate(o));
    }

    [Fact]
    public void MetricsPort_TheSameAsTheGrpcPort_IsRefusedSayingWhy()
    {
        var o = Valid();
        o.Metrics.Prometheus = true;
        o.Grpc.Port = 5252;
        o.Metrics.Port = 5252;
        Assert.Contains("needs a port of its own", Assert.Single(UserCodeOptionsValidator.Validate(o)), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("collector:4318")]
    [InlineData("ftp://collector:4318")]
    public void OtlpEndpoint_NotAnHttpUrl_NamesTheKeyAndTheValue(string endpoint)
    {
        var o = Valid();
        o.Otlp.Endpoint = endpoint;
        Assert.Equal([$"UserCode:Otlp:Endpoint '{endpoint}' is not an http:// or https:// URL; give the collector's address, e.g. http://127.0.0.1:4318"], UserCodeOptionsValidator.Validate(o));
    }

    [Fact]
    public void OtlpProtocol_Unknown_ListsTheProtocols()
    {
        var o = Valid();
        o.Otlp.Protocol = "udp";
        Assert.Equal(["UserCode:Otlp:Protocol 'udp' is not one of http/protobuf, grpc"], UserCodeOptionsValidator.Validate(o));
    }

    [Fact]
    public void SeveralProblems_AreAllReported()
    {
        var o = new UserCodeOptions { Transport = (TransportKind)7, Path = null, MaxInFlight = 0, LogFormat = (LogFormat)9 };
        o.Grpc.Address = "not-an-ip";
        var errors = UserCodeOptionsValidator.Validate(o);
        Assert.Equal(5, errors.Count);
        Assert.Contains("UserCode:Transport '7' is not supported; use one of: grpc, shared-memory", errors);
        Assert.Contains(errors, e => e.StartsWith("UserCode:Grpc:Address 'not-an-ip'", StringComparison.Ordinal));
        Assert.Contains("UserCode:LogFormat '9' is not one of auto, text, json", errors);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(3601)]
    public void DrainTimeoutSeconds_OutOfRange_NamesTheKeyTheValueAndTheRange(int seconds)
    {
        var o = Valid();
        o.DrainTimeoutSeconds = seconds;
        Assert.Equal(
            [$"UserCode:DrainTimeoutSeconds {seconds} is out of range 0..3600: the seconds a stop waits for open sessions to drain"],
            UserCodeOptionsValidator.Validate(o));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3600)]
    public void DrainTimeoutSeconds_AtTheEndsOfItsRange_IsValid(int seconds)
    {
        var o = Valid();
        o.DrainTimeoutSeconds = seconds;
        Assert.Empty(UserCodeOptionsValidator.Validate(o));
    }

    [Fact]
    public void LogLevel_Unknown_ListsTheLevels()
    {
        var o = Valid();
        o.LogLevel = "loud";
        Assert.Equal(["UserCode:LogLevel 'loud' is not one of Verbose, Debug, Information, Warning, Error, Fatal"], UserCodeOptionsValidator.Validate(o));
    }

    [Theory]
    [InlineData("warning")]
    [InlineData("Verbose")]
    [InlineData("FATAL")]
    public void LogLevel_AnyCaseOfALevel_IsValid(string level)
    {
        var o = Valid();
        o.LogLevel = level;
        Assert.Empty(UserCodeOptionsValidator.Validate(o));
    }

    [Fact]
    public void AsIValidateOptions_FailsWithEveryProblem()
    {
        var o = Valid();
        o.MaxInFlight = 0;
        o.LogLevel = "loud";
        var result = new UserCodeOptionsValidator().Validate(Options.DefaultName, o);
        Assert.True(result.Failed);
        Assert.Equal(["UserCode:MaxInFlight 0 is out of range 1..1024", "UserCode:LogLevel 'loud' is not one of Verbose, Debug, Information, Warning, Error, Fatal"], result.Failures);
        Assert.True(new UserCodeOptionsValidator().Validate(Options.DefaultName, Valid()).Succeeded);
    }

    [Theory]
    [InlineData("Grpc:Port", -1, "UserCode:Grpc:Port -1 is out of range 0..65535")]
    [InlineData("Grpc:Port", 65536, "UserCode:Grpc:Port 65536 is out of range 0..65535")]
    [InlineData("SharedMemory:Sessions", 65, "UserCode:SharedMemory:Sessions 65 is out of range 1..64")]
    [InlineData("MaxInFlight", 1025, "UserCode:MaxInFlight 1025 is out of range 1..1024")]
    [InlineData("InitTimeoutSeconds", 0, "UserCode:InitTimeoutSeconds 0 is out of range 1..3600")]
    [InlineData("MaxSessions", 65537, "UserCode:MaxSessions 65537 is out of range 1..65536")]
    [InlineData("MaxConnections", 0, "UserCode:MaxConnections 0 is out of range 1..65536")]
    [InlineData("StuckCallSeconds", 86401, "UserCode:StuckCallSeconds 86401 is out of range 1..86400")]
    [InlineData("MaxAbandonedCalls", 65537, "UserCode:MaxAbandonedCalls 65537 is out of range 0..65536")]
    [InlineData("MaxBatchItems", 0, "UserCode:MaxBatchItems 0 must be at least 1")]
    [InlineData("MaxBatchBytes", 1023, "UserCode:MaxBatchBytes 1023 must be between 1024 and UserCode:MaxMessageBytes (67108864)")]
    [InlineData("MaxBatchBytes", 67108865, "UserCode:MaxBatchBytes 67108865 must be between 1024 and UserCode:MaxMessageBytes (67108864)")]
    [InlineData("MaxInitBytes", 67108865, "UserCode:MaxInitBytes 67108865 must be between 1024 and UserCode:MaxMessageBytes (67108864)")]
    [InlineData("MaxAbandonedCallsPerSession", 33, "UserCode:MaxAbandonedCallsPerSession 33 must be between 0 and UserCode:MaxAbandonedCalls (32)")]
    [InlineData("MaxAbandonedCallsPerSession", -1, "UserCode:MaxAbandonedCallsPerSession -1 must be between 0 and UserCode:MaxAbandonedCalls (32)")]
    public void BoundedSetting_OutOfBounds_NamesTheKeyTheValueAndWhatIsAllowed(string key, int value, string expected)
    {
        var o = Valid();
        Set(o, key, value);
        Assert.Equal([expected], UserCodeOptionsValidator.Validate(o));
    }

    [Theory]
    [InlineData("Grpc:Port", 0)]
    [InlineData("Grpc:Port", 65535)]
    [InlineData("SharedMemory:Sessions", 64)]
    [InlineData("MaxInFlight", 1)]
    [InlineData("MaxInFlight", 1024)]
    [InlineData("StuckCallSeconds", 86400)]
    [InlineData("MaxAbandonedCalls", 0)]
    [InlineData("MaxBatchItems", 1)]
    [InlineData("MaxBatchBytes", 1024)]
    [InlineData("MaxBatchBytes", 67108864)]
    [InlineData("MaxAbandonedCallsPerSession", 32)]
    public void BoundedSetting_AtItsBound_IsValid(string key, int value)
    {
        var o = Valid();
        Set(o, key, value);
        Assert.Empty(UserCodeOptionsValidator.Validate(o));
    }

    [Fact]
    public void MaxMessageBytes_BelowItsFloor_IsReportedWithTheLimitsThatDependOnIt()
    {
        var o = Valid();
        o.MaxMessageBytes = 4095;
        o.MaxBatchBytes = 2048;
        o.MaxInitBytes = 2048;
        Assert.Equal(["UserCode:MaxMessageBytes 4095 must be at least 4096"], UserCodeOptionsValidator.Validate(o));
    }

    private static void Set(UserCodeOptions o, string key, int value)
    {
        switch (key)
        {
            case "Grpc:Port": o.Grpc.Port = value; break;
            case "SharedMemory:Sessions": o.SharedMemory.Sessions = value; break;
            case "MaxInFlight": o.MaxInFlight = value; break;
            case "InitTimeoutSeconds": o.InitTimeoutSeconds = value; break;
            case "MaxSessions": o.MaxSessions = value; break;
            case "MaxConnections": o.MaxConnections = value; break;
            case "StuckCallSeconds": o.StuckCallSeconds = value; break;
            // The per-session limit may not exceed this one; 0 keeps it valid whatever this is set to.
            case "MaxAbandonedCalls": o.MaxAbandonedCalls = value; o.MaxAbandonedCallsPerSession = 0; break;
            case "MaxBatchItems": o.MaxBatchItems = value; break;
            case "MaxBatchBytes": o.MaxBatchBytes = value; break;
            case "MaxInitBytes": o.MaxInitBytes = value; break;
            case "MaxAbandonedCallsPerSession": o.MaxAbandonedCallsPerSession = value; break;
            default: throw new ArgumentException($"no setter for {key}", nameof(key));
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4097)]
    public void MaxConcurrency_OutOfRange_NamesTheKeyTheValueTheRangeAndItsMeaning(int value)
    {
        var o = Valid();
        o.MaxConcurrency = value;
        Assert.Equal(
            [$"UserCode:MaxConcurrency {value} is out of range 1..4096: the most items of a key-ordered session running at once (default 64)"],
            UserCodeOptionsValidator.Validate(o));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4096)]
    public void MaxConcurrency_AtTheEndsOfItsRange_IsValid(int value)
    {
        var o = Valid();
        o.MaxConcurrency = value;
        Assert.Empty(UserCodeOptionsValidator.Validate(o));
    }

    [Theory]
    [InlineData("busy")]
    [InlineData("")]
    [InlineData("spin,block")]
    public void SharedMemoryWait_Unknown_NamesTheKeyTheValueAndTheModes(string value)
    {
        var o = Valid();
        o.SharedMemory.Wait = value;
        Assert.Equal([$"UserCode:SharedMemory:Wait '{value}' is not one of adaptive, spin, block: how a shared-memory reader waits (adaptive picks by core count)"], UserCodeOptionsValidator.Validate(o));
    }

    [Theory]
    [InlineData("adaptive")]
    [InlineData("Spin")]
    [InlineData("BLOCK")]
    public void SharedMemoryWait_AnyModeInAnyCase_IsValid(string value)
    {
        var o = Valid();
        o.SharedMemory.Wait = value;
        Assert.Empty(UserCodeOptionsValidator.Validate(o));
    }

    [Fact]
    public void SharedMemoryWaitModes_AreTheSpellingsTheTransportParses()
    {
        // The runtime maps the validated string with the transport's parser: the two lists must agree.
        Assert.Equal(Jex.Transport.SharedMemory.WaitModes.Names, SharedMemoryEndpointOptions.WaitModes);
        Assert.Equal("adaptive", new UserCodeOptions().SharedMemory.Wait);
    }
}
