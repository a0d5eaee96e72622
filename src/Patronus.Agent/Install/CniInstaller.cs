namespace Patronus.Agent.Install;

/// <summary>
/// Puts the plugin into the node's CNI bin dir, as the DaemonSet's init container does: kubelet may exec
/// <c>patronus-cni</c> at any moment, so it must only ever see the old binary or the whole new one. The copy goes to a
/// temporary name in the same directory (a rename is atomic only within one file system), is flushed to disk and made
/// executable, then renamed over the old one.
/// </summary>
public static class CniInstaller
{
    public const string PluginName = "patronus-cni";

    /// <summary>The plugin shipped with this agent: /opt/patronus/bin in the image, artifacts/bin in a build (both two levels above the agent's folder).</summary>
    public static string ShippedPlugin => Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "bin", PluginName));

    /// <summary>Installs <paramref name="source"/> as <c>patronus-cni</c> in <paramref name="binDirectory"/>; returns the installed path.</summary>
    public static string Install(string source, string binDirectory)
    {
        if (!File.Exists(source))
            throw new InstallException($"option 'install-cni': the plugin to install, {source}, does not exist");
        if (!Directory.Exists(binDirectory))
            throw new InstallException($"option 'install-cni': the CNI bin dir {binDirectory} does not exist");
        var target = Path.Combine(binDirectory, PluginName);
        var temporary = Path.Combine(binDirectory, $".{PluginName}.{Environment.ProcessId}.tmp");
        try
        {
            using (var from = File.OpenRead(source))
            using (var to = new FileStream(temporary, new FileStreamOptions
            {
                Mode = FileMode.Create,
                Access = FileAccess.Write,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                    | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute,
            }))
            {
                from.CopyTo(to);
                to.Flush(flushToDisk: true);
            }
            File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            File.Move(temporary, target, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
        return target;
    }
}

/// <summary>An install or uninstall step that cannot be done, with the option or path at fault.</summary>
public sealed class InstallException(string message) : Exception(message);
