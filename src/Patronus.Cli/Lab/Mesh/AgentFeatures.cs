using System.Diagnostics;

namespace Patronus.Cli.Lab.Mesh;

/// <summary>
/// What the patronus-agent next to the lab understands: a lab of several clusters passes the mesh options only to an
/// agent whose --help lists them, so a lab keeps working with an agent built before the mesh (which would refuse
/// them as unknown).
/// </summary>
internal static class AgentFeatures
{
    private static readonly Dictionary<string, bool> Known = [];

    public static bool HasMesh(string agent)
    {
        lock (Known)
        {
            if (Known.TryGetValue(agent, out var known))
                return known;
            var start = new ProcessStartInfo(agent, "--help") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            using var process = Process.Start(start) ?? throw new LabException($"cannot run {agent} --help");
            var stderr = process.StandardError.ReadToEndAsync();
            var help = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            _ = stderr.Result;
            return Known[agent] = help.Contains("--cluster-id", StringComparison.Ordinal);
        }
    }
}
