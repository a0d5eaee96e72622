using System.CommandLine;
using Patronus.Cli.Install;
using Patronus.Cli.Lab;
using Patronus.Cli.Mesh;
using Patronus.Cli.Paths;
using Patronus.Cli.Policy;
using Patronus.Cli.Status;

var root = new RootCommand("patronus: the operator's tool for Patronus pod networking, NetworkPolicy and SD-WAN");
root.Subcommands.Add(StatusCommand.Create());
root.Subcommands.Add(PolicyCommand.Create());
root.Subcommands.Add(LabCommand.Create());
root.Subcommands.Add(MeshCommand.Create());
root.Subcommands.Add(PathsCommand.Create());
root.Subcommands.Add(InstallCommand.Create());
// Ctrl-C and SIGTERM cancel the running command's token; `lab` then tears its namespaces and agents down,
// which must not be cut short by System.CommandLine's default 2 s grace.
return root.Parse(args).Invoke(new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(60) });
