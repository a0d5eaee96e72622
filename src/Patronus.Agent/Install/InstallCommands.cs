using System.Runtime.InteropServices;
using Microsoft.Extensions.Configuration;
using Patronus.Agent.Hosting;

namespace Patronus.Agent.Install;

/// <summary>
/// The agent's one-shot modes, for the DaemonSet's init container and for uninstall:
/// <c>patronus-agent --install-cni DIR [--plugin FILE]</c> puts the plugin into DIR atomically;
/// <c>patronus-agent --uninstall [--wait] [agent options]</c> removes what Patronus left on the node (see
/// <see cref="NodeCleanup"/>), reading the paths from the same options, file (--config) and environment the agent reads;
/// <c>--wait</c> then waits for SIGTERM, so that the cleanup can run as a DaemonSet (deploy/uninstall/).
/// </summary>
internal static class InstallCommands
{
    /// <summary>Appended to `patronus-agent --help`.</summary>
    public const string Usage = """

        One-shot modes:
          --install-cni DIR [--plugin FILE]   copy the plugin shipped with the agent (or FILE) into DIR as patronus-cni,
                                              atomically (temporary file in DIR, flushed, renamed); the DaemonSet's init container
          --uninstall [--wait] [OPTIONS]      remove what Patronus left on this node: the conflist (--cni-conf-path), the plugin
                                              (--cni-bin-dir), nftables tables inet patronus and inet patronus_nat, eBPF programs and
                                              pins (--bpffs, --bridge), routes of protocols 77 and 78, patronus-vxlan and wg-sdwan, the
                                              bridge once no pod is on it, the socket and state (--socket, --database); exit 1 names
                                              what could not be removed. --wait: then wait for SIGTERM (deploy/uninstall/cleanup.yaml)

        """;

    public static bool Handles(string[] args) => args.Contains("--install-cni") || args.Contains("--uninstall");

    public static async Task<int> RunAsync(string[] args)
    {
        try
        {
            return args.Contains("--install-cni") ? InstallCni(args) : await UninstallAsync(args);
        }
        catch (Exception e) when (e is InstallException or AgentOptionsException)
        {
            Console.Error.WriteLine($"patronus-agent: {e.Message}");
            return 2;
        }
    }

    private static int InstallCni(string[] args)
    {
        string? directory = null, plugin = null;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--install-cni" or "--plugin" when i + 1 >= args.Length || args[i + 1].StartsWith("--", StringComparison.Ordinal):
                    throw new InstallException($"option '{args[i].TrimStart('-')}': a path must follow it (usage: --install-cni DIR [--plugin FILE])");
                case "--install-cni":
                    directory = args[++i];
                    break;
                case "--plugin":
                    plugin = args[++i];
                    break;
                default:
                    throw new InstallException($"option '{args[i].TrimStart('-')}': not known with --install-cni (usage: --install-cni DIR [--plugin FILE])");
            }
        }
        if (directory is null)
            throw new InstallException("option 'install-cni': the CNI bin dir is missing (usage: --install-cni DIR [--plugin FILE])");
        var installed = CniInstaller.Install(plugin ?? CniInstaller.ShippedPlugin, directory);
        Console.Out.WriteLine($"installed {installed}");
        return 0;
    }

    private static async Task<int> UninstallAsync(string[] args)
    {
        var wait = args.Contains("--wait");
        var options = args.Where(a => a is not ("--uninstall" or "--wait")).ToArray();
        var configuration = Configuration(options);
        var targets = new CleanupTargets
        {
            CniConfPath = configuration["cniConfPath"] is { Length: > 0 } conf ? conf : "/etc/cni/net.d/10-patronus.conflist",
            CniBinDir = configuration["cniBinDir"] is { Length: > 0 } bin ? bin : "/opt/cni/bin",
            Socket = configuration["socket"] is { Length: > 0 } socket ? socket : "/var/run/patronus/agent.sock",
            StateDirectory = Path.GetDirectoryName(configuration["database"] is { Length: > 0 } database ? database : "/var/lib/patronus/agent.db")!,
            Bpffs = configuration["bpffs"] is { Length: > 0 } bpffs ? bpffs : "/sys/fs/bpf",
            Bridge = configuration["bridge"] is { Length: > 0 } bridge ? bridge : "cni-bridge0",
            // --mesh-interface / --interface, as the agent names its path devices.
            WireGuardInterface = configuration["meshInterface"] is { Length: > 0 } mesh ? mesh : "wg-sdwan",
        };
        if (targets.WireGuardInterface.Length > 15 || targets.WireGuardInterface.Any(c => c is '/' or ' ' or ':') || targets.WireGuardInterface is "." or "..")
            throw new InstallException($"option 'mesh-interface' is '{targets.WireGuardInterface}'; an interface name has at most 15 characters and no '/', ':' or space");
        var failures = NodeCleanup.Run(targets, Console.Out);
        Console.Out.WriteLine(failures.Count == 0 ? "uninstalled: nothing of Patronus is left on this node" : $"uninstall incomplete: {string.Join("; ", failures)}");
        if (wait)
        {
            // Run as a DaemonSet's container: stay until the DaemonSet is deleted.
            var stop = new TaskCompletionSource();
            using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => { context.Cancel = true; stop.TrySetResult(); });
            using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, context => { context.Cancel = true; stop.TrySetResult(); });
            await stop.Task;
        }
        return failures.Count == 0 ? 0 : 1;
    }

    /// <summary>The agent's own sources, in its order: --config file, PATRONUS_AGENT_* environment, command line.</summary>
    private static IConfiguration Configuration(string[] args)
    {
        AgentOptions.CheckArguments(args);
        var builder = new ConfigurationBuilder();
        var configFile = AgentHost.ConfigFile(args) ?? Environment.GetEnvironmentVariable("PATRONUS_AGENT_CONFIG");
        if (configFile is not null)
        {
            if (!File.Exists(configFile))
                throw new InstallException($"option 'config': file '{configFile}' does not exist");
            builder.AddJsonFile(Path.GetFullPath(configFile), optional: false);
        }
        builder.AddEnvironmentVariables("PATRONUS_AGENT_");
        builder.AddCommandLine(args, AgentOptions.Switches.ToDictionary());
        return builder.Build();
    }
}
