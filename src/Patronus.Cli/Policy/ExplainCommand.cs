using Patronus.Cli.Reach;
using System.CommandLine;
using Patronus.Policy.Analysis;
using Patronus.Policy.Compiled;
using Patronus.Policy.Model;

namespace Patronus.Cli.Policy;

/// <summary><c>patronus policy explain</c>: one connection, allowed or denied, and the policies, rules and peers behind it.</summary>
internal static class ExplainCommand
{
    public static Command Create()
    {
        var files = PolicyCommand.FilesOption();
        var from = new Option<string>("--from") { Description = "Sending pod, NAMESPACE/POD.", Required = true };
        var to = new Option<string>("--to") { Description = "Receiving pod, NAMESPACE/POD.", Required = true };
        var port = new Option<string>("--port", "-p") { Description = "PORT[/PROTO] (PROTO: TCP (default), UDP or SCTP).", Required = true };

        var command = new Command("explain", "Explain whether one pod may reach another on a port, and why.\n" + PolicyCommand.ExitCodes);
        command.Options.Add(files);
        command.Options.Add(from);
        command.Options.Add(to);
        command.Options.Add(port);
        command.SetAction(parse =>
        {
            var stdout = parse.InvocationConfiguration.Output;
            var stderr = parse.InvocationConfiguration.Error;
            if (!Probe.TryParse(parse.GetValue(port)!, out var probe, out var error))
            {
                stderr.WriteLine($"error: {error}");
                return PolicyCommand.UsageError;
            }
            if (!PolicyCommand.FilesExist(parse.GetValue(files)!, stderr))
                return PolicyCommand.UsageError;
            var input = PolicyInput.Load(parse.GetValue(files)!, stderr);
            var sender = input.Find("--from", parse.GetValue(from)!, out var fromError);
            var receiver = input.Find("--to", parse.GetValue(to)!, out var toError);
            if (sender is null || receiver is null)
            {
                foreach (var message in new[] { fromError, toError }.Where(m => m.Length > 0))
                    stderr.WriteLine($"error: {message}");
                return PolicyCommand.UsageError;
            }
            var verdict = Reachability.Explain(sender, receiver, probe.Protocol, probe.Port);
            Write(stdout, verdict, probe, input.Compiler.Policies.ToDictionary(p => p.Key));
            return input.HadErrors ? PolicyCommand.PartialInput : PolicyCommand.Success;
        });
        return command;
    }

    private static void Write(TextWriter stdout, TrafficVerdict verdict, Probe probe, Dictionary<string, NetworkPolicy> policies)
    {
        stdout.WriteLine($"{verdict.From} -> {verdict.To} on {probe}: {(verdict.Allowed ? "ALLOWED" : "DENIED")}");
        if (verdict.Self)
        {
            stdout.WriteLine("  a pod may always reach itself; NetworkPolicy does not apply to it");
            return;
        }
        if (verdict.NoCommonFamily)
        {
            stdout.WriteLine("  the pods have no address family (IPv4/IPv6) in common");
            return;
        }
        stdout.WriteLine($"  addresses checked: {verdict.FromAddress} -> {verdict.ToAddress}");
        WriteDirection(stdout, "egress", "sender", verdict.Egress, probe, policies);
        WriteDirection(stdout, "ingress", "receiver", verdict.Ingress, probe, policies);
    }

    private static void WriteDirection(TextWriter stdout, string direction, string role, DirectionVerdict side, Probe probe, Dictionary<string, NetworkPolicy> policies)
    {
        var peerRole = role == "sender" ? "to" : "from";
        if (!side.Isolated)
        {
            stdout.WriteLine($"  {direction} of {side.Endpoint} ({role}): allowed, not isolated (no NetworkPolicy selects it for {direction})");
            return;
        }
        stdout.WriteLine($"  {direction} of {side.Endpoint} ({role}): {(side.Allowed ? "allowed" : "denied")}, isolated by {string.Join(", ", side.IsolatedBy)}");
        if (side.AdmittedBy.Count == 0)
        {
            stdout.WriteLine($"    no {direction} rule of these policies admits {peerRole} {side.Peer} on {probe}");
            return;
        }
        foreach (var origin in side.AdmittedBy)
            stdout.WriteLine($"    admitted by {Describe(origin, direction, policies)}");
    }

    private static string Describe(RuleOrigin origin, string direction, Dictionary<string, NetworkPolicy> policies)
    {
        var key = $"{origin.PolicyNamespace}/{origin.PolicyName}";
        var text = $"{key} {direction}[{origin.RuleIndex}]";
        if (!policies.TryGetValue(key, out var policy))
            return text;
        var rules = direction == "egress" ? policy.Egress : policy.Ingress;
        var rule = rules[origin.RuleIndex];
        var peers = origin.PeerIndex is { } index
            ? $"{(direction == "egress" ? "to" : "from")}[{index}] {DescribePeer(rule.Peers[index])}"
            : "any peer (the rule has no " + (direction == "egress" ? "to" : "from") + ")";
        var ports = rule.Ports.Count == 0 ? "all ports" : "ports " + string.Join(", ", rule.Ports);
        return $"{text}: {peers}; {ports}";
    }

    private static string DescribePeer(PolicyPeer peer)
    {
        if (peer.IpBlock is { } block)
            return $"ipBlock {block.Cidr}" + (block.Except.Count > 0 ? $" except {string.Join(", ", block.Except)}" : "");
        var parts = new List<string>();
        if (peer.NamespaceSelector is { } ns)
            parts.Add($"namespaceSelector {{{ns}}}");
        if (peer.PodSelector is { } pods)
            parts.Add($"podSelector {{{pods}}}");
        return string.Join(" and ", parts);
    }
}
