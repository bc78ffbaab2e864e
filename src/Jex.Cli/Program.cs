using System.CommandLine;

namespace Jex.Cli;

internal static class Program
{
    public static int Main(string[] args)
    {
        var root = new RootCommand("jex: run Jex jobs, deploy new code into them, record and replay them, benchmark and soak transports, decode Hazelcast data.");
        root.Subcommands.Add(Data.DataCommand.Create());
        root.Subcommands.Add(Run.RunCommand.Create());
        root.Subcommands.Add(Deploy.DeployCommand.Create());
        root.Subcommands.Add(Record.ReplayCommand.Create());
        root.Subcommands.Add(Bench.BenchCommand.Create());
        root.Subcommands.Add(Soak.SoakCommand.Create());
        return root.Parse(args).Invoke();
    }
}
