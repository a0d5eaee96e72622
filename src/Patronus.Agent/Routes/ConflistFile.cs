namespace Patronus.Agent.Routes;

/// <summary>
/// Puts the node's conflist on disk so that kubelet (or a runtime) never reads half of one: the content goes to a
/// temporary file in the same folder, is flushed, and is renamed over the old one in one step.
/// </summary>
public static class ConflistFile
{
    /// <summary>Writes <paramref name="content"/> unless the file already holds it; true when it wrote.</summary>
    public static bool Write(string path, string content)
    {
        if (File.Exists(path) && File.ReadAllText(path) == content)
            return false;
        var folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(folder);
        // A dot-name that does not end in .conf/.conflist/.json: a runtime scanning the folder ignores it.
        var temporary = Path.Combine(folder, $".{Path.GetFileName(path)}.{Environment.ProcessId}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, new FileStreamOptions
            {
                Mode = FileMode.Create,
                Access = FileAccess.Write,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
            }))
            {
                stream.Write(System.Text.Encoding.UTF8.GetBytes(content));
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
        return true;
    }

    /// <summary>Removes the conflist (a node that lost its pod ranges must not start pods); true when there was one.</summary>
    public static bool Remove(string path)
    {
        if (!File.Exists(path))
            return false;
        File.Delete(path);
        return true;
    }
}
