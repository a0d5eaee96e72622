using System.CommandLine;
using Patronus.Cli.Lab;
using Patronus.Cli.Policy;
using Patronus.Cli.Status;

var root = new RootCommand("patronus: the operator's tool for Patronus pod networking, NetworkPolicy and SD-WAN");
root.Subcommands.Add(StatusCommand.Create());
root.Subcommands.Add(PolicyCommand.Create());
root.Subcommands.Add(LabCommand.Create());
return root.Parse(args).Invoke();
