using System.Diagnostics;
using System.Text.Json;
using Patronus.Cni.Addressing;
using Patronus.Cni.Config;
using Patronus.Cni.Spec;

namespace Patronus.Cni.Ipam;

/// <summary>
/// An IPAM plugin named by <c>ipam.type</c> (say <c>host-local</c>), run as SPEC.md section 4 ("Delegated
/// plugins") says: found on <c>CNI_PATH</c>, given the same environment with the same verb and the whole
/// network configuration on stdin; its result (any version from 0.3.0) or error is read back.
/// </summary>
public sealed class DelegatedIpam(NetConf conf, CniEnvironment env) : IAddressSource
{
    /// <summary>
    /// How many patronus-cni processes run above this one, each having started the next as its IPAM plugin.
    /// Set for every IPAM plugin started; patronus-cni refuses to run at all when it is above zero (see
    /// <see cref="RefuseIfDelegatedToByItself"/>), so a delegation back to itself that the path check misses (a
    /// copy of the binary under another name) stops after one level instead of forking without end.
    /// </summary>
    public const string DepthVariable = "PATRONUS_CNI_DELEGATION_DEPTH";

    private readonly string executable = Find(conf.Ipam!.Type, env.Path);

    public CniResult Allocate()
    {
        var output = Exec("ADD");
        try
        {
            using var doc = JsonDocument.Parse(output);
            return CniJson.ReadResult(doc.RootElement, $"result of IPAM plugin \"{conf.Ipam!.Type}\"", conf.CniVersion);
        }
        catch (JsonException e)
        {
            throw new CniException(CniErrorCode.IoFailure,
                $"ipam.type \"{conf.Ipam!.Type}\" printed a result that is not JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1})");
        }
    }

    public void Release() => Exec("DEL");

    public void Check()
    {
        if (Spec.CniVersion.HasCheck(conf.CniVersion))
        {
            Exec("CHECK");
        }
    }

    /// <summary>GC is passed on to the IPAM plugin with the same valid-attachments list (SPEC.md, "GC").</summary>
    public void Gc() => Exec("GC");

    /// <summary>STATUS is passed on; its error (say code 50) becomes ours.</summary>
    public void Status() => Exec("STATUS");

    /// <summary>
    /// GC and STATUS are new in 1.1.0: an IPAM plugin that predates them answers code 1 (or, before 1.0, an
    /// unknown-command error); that means it has nothing to collect or report, not that ours failed.
    /// </summary>
    public static void TolerateOlderPlugin(Action verb)
    {
        try
        {
            verb();
        }
        catch (CniException e) when (e.Code == CniErrorCode.IncompatibleVersion || e.Message.Contains("unknown CNI_COMMAND", StringComparison.OrdinalIgnoreCase))
        {
        }
    }

    /// <summary>
    /// Run first thing by every verb but VERSION: a patronus-cni started by patronus-cni as its IPAM plugin is a
    /// config that delegates back to the plugin, and would otherwise start the next one, and so on.
    /// </summary>
    public static void RefuseIfDelegatedToByItself(Func<string, string?> getEnv)
    {
        if (int.TryParse(getEnv(DepthVariable), out var depth) && depth > 0)
        {
            throw new CniException(CniErrorCode.InvalidNetworkConfig,
                $"patronus-cni was started as the IPAM plugin of patronus-cni ({DepthVariable}={depth}): ipam.type must name an IPAM plugin, not patronus-cni itself");
        }
    }

    /// <summary>
    /// SPEC.md: the runtime "must ... search CNI_PATH"; a plugin name holding '/' would escape it. A plugin that is
    /// patronus-cni itself (by name, or a symlink or hard link to this executable under another name) is refused:
    /// it would run this same config again, as its own IPAM, without end.
    /// </summary>
    public static string Find(string type, IReadOnlyList<string> path)
    {
        if (type.Contains('/') || type is "." or ".." || type.Any(char.IsControl))
        {
            throw new CniException(CniErrorCode.InvalidNetworkConfig, $"ipam.type \"{type}\" must be a plugin name, not a path");
        }

        if (type == "patronus-cni")
        {
            throw SelfDelegation(type, "names");
        }

        if (path.Count == 0)
        {
            throw new CniException(CniErrorCode.InvalidEnvironment,
                $"CNI_PATH is not set, so the IPAM plugin \"{type}\" (ipam.type) cannot be found");
        }

        foreach (var dir in path)
        {
            var candidate = Path.Combine(dir, type);
            if (File.Exists(candidate))
            {
                return ExecutableIdentity.IsSelf(candidate) ? throw SelfDelegation(type, $"is {candidate}, which leads to") : candidate;
            }
        }

        throw new CniException(CniErrorCode.InvalidNetworkConfig,
            $"ipam.type: plugin \"{type}\" was not found in CNI_PATH ({string.Join(":", path)})");
    }

    private static CniException SelfDelegation(string type, string how) =>
        new(CniErrorCode.InvalidNetworkConfig, $"ipam.type \"{type}\" {how} patronus-cni itself; it must name an IPAM plugin such as patronus-ipam or host-local");

    private byte[] Exec(string command)
    {
        var start = new ProcessStartInfo(executable)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["CNI_COMMAND"] = command;
        start.Environment[DepthVariable] = ((int.TryParse(Environment.GetEnvironmentVariable(DepthVariable), out var depth) ? depth : 0) + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
        // The rest of the environment (CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_ARGS, CNI_PATH) is
        // inherited unchanged, as the spec asks of a delegating plugin.
        Process process;
        try
        {
            process = Process.Start(start)
                ?? throw new CniException(CniErrorCode.IoFailure, $"ipam.type \"{conf.Ipam!.Type}\": could not start {executable}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            // Not executable, not a program, or no process left to start it in: the errno says which.
            throw new CniException(CniErrorCode.IoFailure,
                $"ipam.type \"{conf.Ipam!.Type}\": could not start {executable}: {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(e.NativeErrorCode)}");
        }

        using var _ = process;
        var stderrTask = process.StandardError.ReadToEndAsync();
        try
        {
            using var stdin = process.StandardInput.BaseStream;
            stdin.Write(conf.RawBytes);
        }
        catch (IOException)
        {
            // The plugin exited without reading its config (EPIPE); its exit code and stdout tell why.
        }

        using var stdout = new MemoryStream();
        process.StandardOutput.BaseStream.CopyTo(stdout);
        process.WaitForExit();
        var stderr = stderrTask.GetAwaiter().GetResult();
        if (process.ExitCode == 0)
        {
            return stdout.ToArray();
        }

        throw ToError(stdout.ToArray(), stderr, process.ExitCode, command);
    }

    private CniException ToError(byte[] stdout, string stderr, int exitCode, string command)
    {
        var who = $"ipam.type \"{conf.Ipam!.Type}\" ({executable}): {command}";
        try
        {
            using var doc = JsonDocument.Parse(stdout);
            var e = doc.RootElement;
            if (e.ValueKind == JsonValueKind.Object && e.TryGetProperty("code", out var code) && code.TryGetInt32(out var n))
            {
                var msg = e.TryGetProperty("msg", out var m) ? m.GetString() : null;
                var details = e.TryGetProperty("details", out var d) ? d.GetString() : null;
                var known = Enum.IsDefined((CniErrorCode)n) ? (CniErrorCode)n : CniErrorCode.IoFailure;
                return new CniException(known, $"{who} failed: {msg}", details);
            }
        }
        catch (JsonException)
        {
        }
        catch (InvalidOperationException)
        {
        }

        return new CniException(CniErrorCode.IoFailure, $"{who} failed with exit code {exitCode}: {stderr.Trim()}");
    }
}
