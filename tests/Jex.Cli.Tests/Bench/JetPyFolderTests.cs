using Jex.Cli.Bench.Peer;

namespace Jex.Cli.Tests.Bench;

public sealed class JetPyFolderTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("jex-jetpy-folder-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void Problem_WithEveryFile_IsNone()
    {
        foreach (var file in JetPyFolder.RequiredFiles)
        {
            File.WriteAllText(Path.Combine(_root, file), "# stand-in");
        }

        Assert.Null(JetPyFolder.Problem(_root));
    }

    [Fact]
    public void Problem_OfAnEmptyFolder_NamesTheFolderAndEveryMissingFile()
    {
        var problem = JetPyFolder.Problem(_root);

        Assert.Equal(
            $"--jetpy {_root}: the folder has no jet_to_python_grpc_server.py, no jet_to_python_pb2.py, no jet_to_python_pb2_grpc.py; "
            + "it must hold jet_to_python_grpc_server.py, jet_to_python_pb2.py, jet_to_python_pb2_grpc.py as Hazelcast ships them for mapUsingPython (the jet-python extension's resources)",
            problem);
    }

    [Fact]
    public void Problem_OfAFolderThatDoesNotExist_SaysSo()
    {
        var missing = Path.Combine(_root, "nope");

        Assert.StartsWith($"--jetpy {missing}: no such folder", JetPyFolder.Problem(missing), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, 64)]
    [InlineData(255, 64)]
    [InlineData(3, 1024)]
    public void Item_IsExactlyThePayloadLongAndStartsWithItsIndex(int index, int length)
    {
        var item = JetPyWorkload.Item(index, length);

        Assert.Equal(length, item.Length);
        Assert.StartsWith($"{index}:", item, StringComparison.Ordinal);
        Assert.All(item, c => Assert.True(c < 128));
    }

    [Fact]
    public void Item_DiffersForEveryIndexOfABatch() =>
        Assert.Equal(256, Enumerable.Range(0, 256).Select(i => JetPyWorkload.Item(i, 64)).Distinct().Count());
}
