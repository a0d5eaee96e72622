using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Text.Json;
using NSec.Cryptography;
using Patronus.Agent.Client;
using Patronus.Agent.Client.Protocol;
using Patronus.Mesh.Announcements;
using Patronus.Mesh.Identity;
using Patronus.Netlink;
using Patronus.WireGuard;
using Key = NSec.Cryptography.Key;
using Spectre.Console;

namespace Patronus.Cli.Mesh;

/// <summary>
/// <c>patronus mesh</c>: the SD-WAN mesh. <c>status</c> and <c>rotate-keys</c> ask the node's live agent; <c>new-set</c>,
/// <c>keys</c> and <c>certify</c> are the operator's offline steps to admit a member: the cluster set's key signs a
/// certificate for the member's identity key and the prefixes it may announce.
/// </summary>
internal static class MeshCommand
{
    public const int Success = 0;
    public const int Failed = 1;

    public static Command Create()
    {
        var command = new Command("mesh", "The SD-WAN mesh between clusters and sites: its state, key rotation, and admitting members.");
        command.Subcommands.Add(StatusCommand());
        command.Subcommands.Add(RotateKeysCommand());
        command.Subcommands.Add(MeshServicesCommand.Create(SocketOption));
        command.Subcommands.Add(NewSetCommand());
        command.Subcommands.Add(KeysCommand());
        command.Subcommands.Add(CertifyCommand());
        return command;
    }

    private static Option<string> SocketOption() => new("--socket", "-s")
    {
        Description = $"The agent's unix socket (default {AgentClient.DefaultSocketPath}).",
        DefaultValueFactory = _ => AgentClient.DefaultSocketPath,
    };

    private static Command StatusCommand()
    {
        var socket = SocketOption();
        var output = new Option<string>("--output", "-o") { Description = "table (default) or json.", DefaultValueFactory = _ => "table" };
        output.AcceptOnlyFromAmong("table", "json");
        var command = new Command("status", "Each member of the mesh as this node's agent sees it: id, endpoints, prefixes, last handshake, bytes in and out, and announcements refused by reason.\n" +
            "Exit codes: 0 the agent answered; 1 the agent is not running, or the mesh is not configured on it.");
        command.Options.Add(socket);
        command.Options.Add(output);
        command.SetAction(parse =>
        {
            var stdout = parse.InvocationConfiguration.Output;
            var stderr = parse.InvocationConfiguration.Error;
            if (Ask(parse.GetValue(socket)!, stderr, client => client.GetStatus()) is not { } status)
                return Failed;
            if (status.Mesh is not { } mesh)
            {
                stderr.WriteLine("patronus mesh status: the mesh is not configured on this agent (no cluster-id and cluster-set-key in patronus-config, or --site-name).");
                return Failed;
            }
            if (parse.GetValue(output) == "json")
                stdout.WriteLine(JsonSerializer.Serialize(mesh, ProtocolJsonContext.Default.MeshStatus));
            else
                Render(mesh, stdout, DateTimeOffset.UtcNow);
            return Success;
        });
        return command;
    }

    internal static void Render(MeshStatus mesh, TextWriter output, DateTimeOffset now)
    {
        output.WriteLine(mesh.Role switch
        {
            "node" => $"Member {mesh.MemberId}: this node is not a gateway; it routes the remote ranges below to a gateway node.",
            "site" => $"Site {mesh.MemberId} on {mesh.Interface} (UDP {mesh.ListenPort}), announcing {Join(mesh.Prefixes)} at {Join(mesh.Endpoints)}",
            _ => $"Cluster {mesh.MemberId}: gateway on {mesh.Interface} (UDP {mesh.ListenPort}), announcing {Join(mesh.Prefixes)} at {Join(mesh.Endpoints)}",
        });
        if (mesh.KeyAgeSeconds is { } age)
            output.WriteLine($"WireGuard key {mesh.PublicKey}, {Duration(TimeSpan.FromSeconds(age))} old");
        if (mesh.Problem is { } problem)
            output.WriteLine($"Problem: {problem}");
        var console = Policy.PolicyCommand.Console(output);
        var table = new Table().AddColumns("SITE", "STATE", "ENDPOINT", "PREFIXES", "LAST HANDSHAKE", "RECEIVED", "SENT");
        foreach (var site in mesh.Sites)
        {
            var state = site.Configured ? (mesh.Role == "node" ? "via gateway" : "not heard from")
                : !site.Live ? (site.Answered ? "dead" : "no answer yet")
                : site.Up ? "up" : "down";
            // A member with several gateways shows one row per gateway, the one carrying its prefixes marked.
            var several = mesh.Sites.Count(s => s.Id == site.Id && s.Gateway is not null) > 1;
            if (several && site.Carrier)
                state += ", carrier";
            table.AddRow(
                Markup.Escape(several ? $"{site.Id}/{site.Gateway}" : site.Id),
                state,
                Markup.Escape(site.Endpoint ?? Join(site.Endpoints)),
                Markup.Escape(Join(site.Prefixes)),
                site.LastHandshake is { } at ? $"{Duration(now - at)} ago" : "-",
                Bytes(site.ReceiveBytes),
                Bytes(site.TransmitBytes));
        }
        console.Write(table);
        var rejected = mesh.Rejected.Where(r => r.Value > 0).OrderBy(r => r.Key, StringComparer.Ordinal).ToList();
        output.WriteLine(rejected.Count == 0
            ? "Announcements refused: none"
            : $"Announcements refused: {string.Join(", ", rejected.Select(r => $"{r.Key} {r.Value}"))}");
    }

    private static Command RotateKeysCommand()
    {
        var socket = SocketOption();
        var command = new Command("rotate-keys", "Replace this gateway's WireGuard key now and announce it (it is also replaced on schedule, every 24 h by default).\n" +
            "Exit codes: 0 the new key is in force and announced; 1 the agent is not running, not a gateway, or failed.");
        command.Options.Add(socket);
        command.SetAction(parse =>
        {
            var stdout = parse.InvocationConfiguration.Output;
            var stderr = parse.InvocationConfiguration.Error;
            var done = Ask(parse.GetValue(socket)!, stderr, client =>
            {
                client.RotateMeshKeys();
                return client.GetStatus();
            });
            if (done?.Mesh is not { } mesh)
                return Failed;
            stdout.WriteLine($"WireGuard key of {mesh.MemberId} on {mesh.Interface} replaced and announced: {mesh.PublicKey}");
            return Success;
        });
        return command;
    }

    private static Command NewSetCommand()
    {
        var keyFile = new Option<string>("--key-file") { Description = "Where to write the cluster set's private key (created 0600; never overwritten).", Required = true };
        var command = new Command("new-set", "Create a cluster set's signing key (Ed25519) and print its public key: the cluster-set-key every member's patronus-config carries.\n" +
            "Keep the private key with the operator, off the clusters: it admits members.");
        command.Options.Add(keyFile);
        command.SetAction(parse =>
        {
            var path = parse.GetValue(keyFile)!;
            if (File.Exists(path))
            {
                parse.InvocationConfiguration.Error.WriteLine($"patronus mesh new-set: {path} exists; a set key is never overwritten (it would disown every member)");
                return Failed;
            }
            using var key = Key.Create(SignatureAlgorithm.Ed25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport });
            KeyFile.WriteSecret(path, key.Export(KeyBlobFormat.RawPrivateKey));
            parse.InvocationConfiguration.Output.WriteLine(Convert.ToBase64String(key.PublicKey.Export(KeyBlobFormat.RawPublicKey)));
            return Success;
        });
        return command;
    }

    private static Command KeysCommand()
    {
        var folder = new Option<string>("--dir") { Description = "The member's key folder (the agent's --mesh-keys).", DefaultValueFactory = _ => "/var/lib/patronus/mesh" };
        var command = new Command("keys", "Create this member's keys if they are missing (identity.key and wireguard.key, 0600) and print its identity public key: what the operator certifies.");
        command.Options.Add(folder);
        command.SetAction(parse =>
        {
            parse.InvocationConfiguration.Output.WriteLine(Convert.ToBase64String(MemberIdentity.EnsureKeys(parse.GetValue(folder)!)));
            return Success;
        });
        return command;
    }

    private static Command CertifyCommand()
    {
        var setKey = new Option<string>("--set-key-file") { Description = "The cluster set's private key (from new-set).", Required = true };
        var member = new Option<string>("--member") { Description = "The member's id: its cluster-id or site name.", Required = true };
        var identity = new Option<string>("--identity-key") { Description = "The member's identity public key (base64, from mesh keys).", Required = true };
        var prefixes = new Option<string>("--prefixes") { Description = "The ranges it may announce, comma-separated (its cluster and service ranges, or a site's networks).", Required = true };
        var days = new Option<int>("--days") { Description = "Days the certificate is valid (default 365).", DefaultValueFactory = _ => 365 };
        var output = new Option<string?>("--output", "-o") { Description = "Write the certificate to this file (the member's member.cert) instead of printing it." };
        var command = new Command("certify", "Admit a member: sign a certificate for its identity key and the prefixes it may announce, with the cluster set's key.\n" +
            "Exit codes: 0 written; 1 a bad argument (named).");
        foreach (var option in new Option[] { setKey, member, identity, prefixes, days, output })
            command.Options.Add(option);
        command.SetAction(parse =>
        {
            var stderr = parse.InvocationConfiguration.Error;
            try
            {
                var signed = Certify(parse.GetValue(setKey)!, parse.GetValue(member)!, parse.GetValue(identity)!, parse.GetValue(prefixes)!, parse.GetValue(days), DateTimeOffset.UtcNow);
                var text = Convert.ToBase64String(signed);
                if (parse.GetValue(output) is { } file)
                    File.WriteAllText(file, text + "\n");
                else
                    parse.InvocationConfiguration.Output.WriteLine(text);
                return Success;
            }
            catch (ArgumentException e)
            {
                stderr.WriteLine($"patronus mesh certify: {e.Message}");
                return Failed;
            }
        });
        return command;
    }

    /// <exception cref="ArgumentException">A bad argument; the message names it.</exception>
    internal static byte[] Certify(string setKeyFile, string member, string identityKey, string prefixes, int days, DateTimeOffset now)
    {
        if (!MemberIds.Valid(member))
            throw new ArgumentException($"--member '{member}': expected 1 to 63 lower-case letters, digits or '-'");
        byte[] identity;
        try
        {
            identity = Convert.FromBase64String(identityKey);
        }
        catch (FormatException)
        {
            throw new ArgumentException("--identity-key is not base64");
        }
        if (identity.Length != 32)
            throw new ArgumentException($"--identity-key is {identity.Length} bytes; an Ed25519 public key is 32");
        var networks = new List<IPNetwork>();
        foreach (var text in prefixes.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!NetworkRanges.TryParseNetwork(text, out var network))
                throw new ArgumentException($"--prefixes: '{text}' is not a network in CIDR notation (host bits zero)");
            networks.Add(network);
        }
        if (networks.Count == 0)
            throw new ArgumentException("--prefixes: at least one range");
        if (days is < 1 or > 3650)
            throw new ArgumentException($"--days {days.ToString(CultureInfo.InvariantCulture)}: from 1 to 3650");
        byte[] seed;
        try
        {
            seed = KeyFile.ReadSecret(setKeyFile, 32, "Ed25519 cluster-set");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            throw new ArgumentException($"--set-key-file: {e.Message}");
        }
        try
        {
            using var key = Key.Import(SignatureAlgorithm.Ed25519, seed, KeyBlobFormat.RawPrivateKey);
            return ClusterSetAuthority.Certify(key, new MemberCertificate(member, identity, now.AddDays(days), networks));
        }
        finally
        {
            Array.Clear(seed);
        }
    }

    private static AgentStatus? Ask(string socket, TextWriter stderr, Func<AgentClient, AgentStatus> ask)
    {
        try
        {
            return ask(new AgentClient(socket));
        }
        catch (AgentRejectedException e)
        {
            stderr.WriteLine($"patronus mesh: the agent refused: {e.Message}");
        }
        catch (Exception e) when (e is AgentUnavailableException or AgentProtocolException)
        {
            stderr.WriteLine($"patronus mesh: the Patronus agent is not running on this node ({e.Message}); point to its socket with --socket PATH.");
        }
        return null;
    }

    private static string Join(IEnumerable<string> items) => items.Any() ? string.Join(", ", items) : "-";

    private static string Bytes(long bytes) => bytes switch
    {
        < 1024 => $"{bytes} B",
        < 1 << 20 => $"{bytes / 1024.0:0.0} KiB",
        < 1 << 30 => $"{bytes / 1048576.0:0.0} MiB",
        _ => $"{bytes / 1073741824.0:0.00} GiB",
    };

    private static string Duration(TimeSpan span) => span.TotalSeconds switch
    {
        < 0 => "0 s",
        < 120 => $"{span.TotalSeconds:0} s",
        < 7200 => $"{span.TotalMinutes:0} min",
        < 172800 => $"{span.TotalHours:0} h",
        _ => $"{span.TotalDays:0} d",
    };
}
