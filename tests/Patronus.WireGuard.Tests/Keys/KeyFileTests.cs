using System.Runtime.Versioning;
using Patronus.Testing;

namespace Patronus.WireGuard.Tests.Keys;

[UnsupportedOSPlatform("windows")]
public sealed class KeyFileTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("pwg-keys-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Write_OwnerOnly_ReadBack_AndWgReadsIt()
    {
        var path = Path.Combine(_directory, "private.key");
        var key = Key.GeneratePrivate();

        KeyFile.Write(path, key);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.Equal(key, KeyFile.Read(path, KeyKind.Private));
        Assert.Equal(key.PublicKey().ToBase64(), Command.Run("sh", ["-c", $"wg pubkey < {path}"]).Stdout.Trim());
        Assert.Single(Directory.GetFiles(_directory));
    }

    [Fact]
    public void Write_ReplacesAnExistingKey()
    {
        var path = Path.Combine(_directory, "private.key");
        KeyFile.Write(path, Key.GeneratePrivate());
        var second = Key.GeneratePrivate();

        KeyFile.Write(path, second);

        Assert.Equal(second, KeyFile.Read(path, KeyKind.Private));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
    }

    [Fact]
    public void Read_GroupReadable_Refused_WithoutTheKey()
    {
        var path = Path.Combine(_directory, "private.key");
        var key = Key.GeneratePrivate();
        KeyFile.Write(path, key);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);

        var error = Assert.Throws<UnauthorizedAccessException>(() => KeyFile.Read(path, KeyKind.Private));

        Assert.Contains("mode 640", error.Message);
        Assert.Contains(path, error.Message);
        KeyTests.AssertNoSecret(error.Message, key);
    }

    [Fact]
    public void Read_Malformed_NamesTheFileNotTheContent()
    {
        var path = Path.Combine(_directory, "private.key");
        File.WriteAllText(path, "c2VjcmV0LWJ1dC10b28tc2hvcnQ=\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        var error = Assert.Throws<FormatException>(() => KeyFile.Read(path, KeyKind.Private));

        Assert.StartsWith($"key file {path}: ", error.Message);
        Assert.DoesNotContain("c2VjcmV0", error.Message);
    }
}
