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
public sealed class DelegatedIpam(NetConf conf, CniEnvironment env, Func<string, string?>? getEnv = null) : IAddressSource
{
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
            throw new CniException(CniErrorCode.IoFailure, $"IPAM plugin \"{conf.Ipam!.Type}\" printed a result that is not JSON: {e.Message}");
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

    /// <summary>SPEC.md: the runtime "must ... search CNI_PATH"; a plugin name holding '/' would escape it.</summary>
    public static string Find(string type, IReadOnlyList<string> path)
    {
        if (type.Contains('/') || type is "." or "..")
        {
            throw new CniException(CniErrorCode.InvalidNetworkConfig, $"ipam.type \"{type}\" must be a plugin name, not a path");
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
                return candidate;
            }
        }

        throw new CniException(CniErrorCode.InvalidNetworkConfig,
            $"ipam.type: plugin \"{type}\" was not found in CNI_PATH ({string.Join(":", path)})");
    }

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
        if (getEnv is not null)
        {
            // Tests run the plugin in process with their own environment; the child gets the same one.
            foreach (var name in new[] { "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_ARGS", "CNI_PATH" })
            {
                if (getEnv(name) is { } value)
                {
                    start.Environment[name] = value;
                }
            }
        }

        using var process = Process.Start(start)
            ?? throw new CniException(CniErrorCode.IoFailure, $"could not start IPAM plugin {executable}");
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
        var who = $"IPAM plugin \"{conf.Ipam!.Type}\" {command}";
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
