using System.Text.Json;
using Jex.FunctionalTests.Member;
using Jex.Testing.Shared;

namespace Jex.FunctionalTests.Cli;

/// <summary>
/// jex bench --jetpy against a stand-in for Hazelcast's Python user-code server: a small server of
/// the test's own, written into a temporary folder under the file names Jet uses, that speaks the
/// same contract (argv PORT MODULE FUNCTION, phone back the gRPC port to PORT, stop on "stop" from
/// stdin, jet_to_python.JetToPython/streamingCall). It runs with /usr/bin/python3 and its grpcio.
/// </summary>
public sealed class BenchJetPyTests
{
    private static readonly TimeSpan BenchTimeout = TimeSpan.FromSeconds(180);

    // Short settings: the direct path only (no runtime to fork), raw 64 B, batch 1 and 256.
    private static readonly string[] Short =
        ["--quick", "--paths", "direct", "--formats", "raw", "--no-ordering-cells", "--starts", "2", "--repeats", "3", "--measure-ms", "200"];

    /// <summary>The messages, built at import from a descriptor (there is no protoc here), with the contract's field numbers.</summary>
    private const string Pb2 = """
        from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

        _file = descriptor_pb2.FileDescriptorProto(name='jex_test_jet_to_python.proto', package='jet_to_python', syntax='proto3')
        for _message, _field in (('InputMessage', 'inputValue'), ('OutputMessage', 'outputValue')):
            _m = _file.message_type.add(name=_message)
            _m.field.add(name=_field, number=1, label=descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED,
                         type=descriptor_pb2.FieldDescriptorProto.TYPE_STRING)
        _pool = descriptor_pool.DescriptorPool()
        _pool.Add(_file)


        def _class(name):
            descriptor = _pool.FindMessageTypeByName('jet_to_python.' + name)
            if hasattr(message_factory, 'GetMessageClass'):
                return message_factory.GetMessageClass(descriptor)
            return message_factory.MessageFactory(_pool).GetPrototype(descriptor)


        InputMessage = _class('InputMessage')
        OutputMessage = _class('OutputMessage')
        """;

    private const string Pb2Grpc = """
        import grpc
        import jet_to_python_pb2


        class JetToPythonServicer(object):
            def streamingCall(self, request_iterator, context):
                raise NotImplementedError()


        def add_JetToPythonServicer_to_server(servicer, server):
            handler = grpc.stream_stream_rpc_method_handler(
                servicer.streamingCall,
                request_deserializer=jet_to_python_pb2.InputMessage.FromString,
                response_serializer=jet_to_python_pb2.OutputMessage.SerializeToString)
            server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler('jet_to_python.JetToPython', {'streamingCall': handler}),))
        """;

    /// <summary>The server; <c>ALTER</c> is replaced by a Python expression applied to each output string <c>v</c>.</summary>
    private const string ServerTemplate = """
        import importlib
        import socket
        import sys
        from concurrent import futures

        import grpc
        import jet_to_python_pb2
        import jet_to_python_pb2_grpc


        class Servicer(jet_to_python_pb2_grpc.JetToPythonServicer):
            def __init__(self, handler):
                self._handler = handler

            def streamingCall(self, request_iterator, context):
                for request in request_iterator:
                    values = self._handler(list(request.inputValue))
                    yield jet_to_python_pb2.OutputMessage(outputValue=[ALTER for v in values])


        def main(phone_back_port, module, function):
            handler = getattr(importlib.import_module(module), function)
            server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
            jet_to_python_pb2_grpc.add_JetToPythonServicer_to_server(Servicer(handler), server)
            port = server.add_insecure_port('localhost:0')
            server.start()
            with socket.create_connection(('localhost', int(phone_back_port))) as s:
                s.sendall(('%d\n' % port).encode('ascii'))
            line = sys.stdin.readline()
            print('stopping on %r' % line.strip())
            server.stop(0).wait()


        main(sys.argv[1], sys.argv[2], sys.argv[3])
        """;

    private static void WritePeer(string folder, string alter = "v")
    {
        File.WriteAllText(Path.Combine(folder, "jet_to_python_pb2.py"), Pb2);
        File.WriteAllText(Path.Combine(folder, "jet_to_python_pb2_grpc.py"), Pb2Grpc);
        File.WriteAllText(Path.Combine(folder, "jet_to_python_grpc_server.py"), ServerTemplate.Replace("ALTER", alter, StringComparison.Ordinal));
    }

    private static IEnumerable<JsonElement> PeerCells(JsonDocument report) =>
        report.RootElement.GetProperty("results").EnumerateArray().Where(r => r.GetProperty("transport").GetString() == "jetpy");

    /// <summary>The pids of live processes whose command line mentions <paramref name="text"/>.</summary>
    private static List<int> ProcessesNaming(string text)
    {
        var found = new List<int>();
        foreach (var entry in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(entry), out var pid))
            {
                continue;
            }

            try
            {
                if (File.ReadAllText(Path.Combine(entry, "cmdline")).Contains(text, StringComparison.Ordinal))
                {
                    found.Add(pid);
                }
            }
            catch (IOException)
            {
                // Gone meanwhile.
            }
        }

        return found;
    }

    [Fact]
    public async Task Bench_WithJetPy_RunsThePeerAtEveryBatchAndInFlightCount_WithOutputsMatchedAndItsForkToReady()
    {
        using var dir = new TempDirectory("jex-bench-jetpy");
        var peer = Directory.CreateDirectory(dir.File("peer")).FullName;
        WritePeer(peer);
        var json = dir.File("bench.json");

        var run = await JexCli.RunAsync(["bench", .. Short, "--jetpy", peer, "--json", json], BenchTimeout);

        Assert.True(run.ExitCode == 0, run.ToString());
        using var report = JsonDocument.Parse(await File.ReadAllTextAsync(json));
        var cells = PeerCells(report).ToList();
        // Quick mode's raw cells: batch 1 at 1 and 4 in flight, batch 256 at 4; identity, 64 B.
        Assert.Equal(
            [(1, 1), (1, 4), (256, 4)],
            cells.Select(c => (c.GetProperty("batch").GetInt32(), c.GetProperty("inflight").GetInt32())));
        Assert.All(cells, c =>
        {
            Assert.False(c.TryGetProperty("error", out var error), error.ToString());
            Assert.Equal("identity", c.GetProperty("function").GetString());
            Assert.Equal(64, c.GetProperty("payload").GetInt32());
            Assert.True(c.GetProperty("events_per_s").GetDouble() > 0, c.ToString());
            Assert.Equal(3, c.GetProperty("events_per_s_repeats").GetArrayLength());
            Assert.True(c.GetProperty("closed_p50_us").GetDouble() > 0, c.ToString());
        });
        var startup = report.RootElement.GetProperty("startup").GetProperty("jetpy");
        Assert.Equal(2, startup.GetProperty("samples_ms").GetArrayLength());
        Assert.True(startup.GetProperty("p50_ms").GetDouble() > 0);
        Assert.Contains("| jetpy | 64 B | 256 | 4 | identity | raw |", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("jetpy p50 ", run.Stdout, StringComparison.Ordinal);
        // The bench stops every peer it started (as Jet does, "stop" on stdin): none is left running.
        Assert.Empty(ProcessesNaming(peer));
    }

    [Fact]
    public async Task Bench_WithJetPy_WhenThePeerAltersTheStrings_FailsThoseCellsNamingTheItem()
    {
        using var dir = new TempDirectory("jex-bench-jetpy");
        var peer = Directory.CreateDirectory(dir.File("peer")).FullName;
        WritePeer(peer, alter: "v.upper()");
        var json = dir.File("bench.json");

        var run = await JexCli.RunAsync(["bench", .. Short, "--jetpy", peer, "--json", json], BenchTimeout);

        Assert.True(run.ExitCode == 1, run.ToString());
        using var report = JsonDocument.Parse(await File.ReadAllTextAsync(json));
        var cells = PeerCells(report).ToList();
        Assert.NotEmpty(cells);
        Assert.All(cells, c => Assert.Contains("item 0: output '0:", c.GetProperty("error").GetString(), StringComparison.Ordinal));
        Assert.All(cells, c => Assert.Contains("is not the input '0:", c.GetProperty("error").GetString(), StringComparison.Ordinal));
        // The Jex paths ran as usual.
        Assert.Contains(report.RootElement.GetProperty("results").EnumerateArray(), r => r.GetProperty("transport").GetString() == "direct" && !r.TryGetProperty("error", out _));
    }

    [Theory]
    [InlineData("jet_to_python_grpc_server.py")]
    [InlineData("jet_to_python_pb2_grpc.py")]
    public async Task Bench_WithAJetPyFolderMissingAFile_ExitsWith2NamingTheFolderAndTheFile(string missing)
    {
        using var dir = new TempDirectory("jex-bench-jetpy");
        var peer = Directory.CreateDirectory(dir.File("peer")).FullName;
        WritePeer(peer);
        File.Delete(Path.Combine(peer, missing));

        var run = await JexCli.RunAsync(["bench", .. Short, "--jetpy", peer], TimeSpan.FromSeconds(60));

        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Contains($"jex bench: --jetpy {peer}: the folder has no {missing}", run.Stderr, StringComparison.Ordinal);
        Assert.Empty(run.Stdout);
    }
}
