using Patronus.Testing;
using Patronus.Agent.Install;

namespace Patronus.Agent.Tests.Install;

/// <summary>The init container's copy of the plugin: whole or not at all, executable, nothing left beside it.</summary>
public sealed class CniInstallerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("patronus-install-").FullName;

    [Fact]
    public void Install_ReplacesTheOldPlugin_Executable_LeavingNoTemporaryFile()
    {
        var source = Path.Combine(_dir, "new");
        File.WriteAllBytes(source, [1, 2, 3, 4]);
        var bin = Directory.CreateDirectory(Path.Combine(_dir, "bin")).FullName;
        File.WriteAllBytes(Path.Combine(bin, "patronus-cni"), [9, 9]);
        // A process running the old binary keeps it: the new one is a new inode, renamed over the name.
        using var running = File.OpenRead(Path.Combine(bin, "patronus-cni"));

        var installed = CniInstaller.Install(source, bin);

        Assert.Equal(Path.Combine(bin, "patronus-cni"), installed);
        Assert.Equal([1, 2, 3, 4], File.ReadAllBytes(installed));
        Assert.Equal(
            UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute,
            File.GetUnixFileMode(installed));
        Assert.Equal(["patronus-cni"], Directory.GetFileSystemEntries(bin).Select(Path.GetFileName));
        var old = new byte[2];
        running.ReadExactly(old);
        Assert.Equal([9, 9], old);
    }

    [Fact]
    public void MissingSourceOrDirectory_IsAnErrorNamingIt_AndChangesNothing()
    {
        var bin = Directory.CreateDirectory(Path.Combine(_dir, "bin")).FullName;
        var missingSource = Assert.Throws<InstallException>(() => CniInstaller.Install(Path.Combine(_dir, "nope"), bin));
        Assert.Contains(Path.Combine(_dir, "nope"), missingSource.Message);
        Assert.Empty(Directory.GetFileSystemEntries(bin));

        var source = Path.Combine(_dir, "new");
        File.WriteAllBytes(source, [1]);
        var missingDirectory = Assert.Throws<InstallException>(() => CniInstaller.Install(source, Path.Combine(_dir, "absent")));
        Assert.Contains("CNI bin dir", missingDirectory.Message);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}

/// <summary>The one-shot modes as the DaemonSet runs them: the published agent, bad options named, exit 2.</summary>
public sealed class InstallCommandLineTests
{
    [Theory]
    [InlineData(new[] { "--install-cni" }, "option 'install-cni': a path must follow it")]
    [InlineData(new[] { "--install-cni", "/nonexistent-bin-dir" }, "the CNI bin dir /nonexistent-bin-dir does not exist")]
    [InlineData(new[] { "--install-cni", "/tmp", "--plugin" }, "option 'plugin': a path must follow it")]
    [InlineData(new[] { "--install-cni", "/tmp", "--bogus", "x" }, "option 'bogus': not known with --install-cni")]
    [InlineData(new[] { "--uninstall", "--bogus" }, "unknown option '--bogus'")]
    [InlineData(new[] { "--uninstall", "--config", "/nonexistent.json" }, "option 'config': file '/nonexistent.json' does not exist")]
    public void BadOptions_ExitTwo_NamingTheOption_ChangingNothing(string[] arguments, string message)
    {
        var result = Command.Run(Hosting.AgentProcess.Binary, arguments);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, result.Stderr);
        Assert.DoesNotContain("   at ", result.Stderr);
        Assert.Equal("", result.Stdout);
    }
}
