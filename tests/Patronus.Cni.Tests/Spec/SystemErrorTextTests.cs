using Patronus.Cni.Diagnostics;

namespace Patronus.Cni.Tests.Spec;

/// <summary>System errors in words from the errno, never from the framework's (stripped) message.</summary>
public class SystemErrorTextTests
{
    [Fact]
    public void Describe_FileSystemFailures_InTheCLibrarysWords()
    {
        var dir = Directory.CreateTempSubdirectory("pcni-errtext-").FullName;
        try
        {
            var file = Path.Combine(dir, "file");
            File.WriteAllText(file, "");
            Assert.Equal("No such file or directory", SystemErrorText.Describe(Capture(() => File.ReadAllText(Path.Combine(dir, "missing")))));
            Assert.Equal("Directory not empty", SystemErrorText.Describe(Capture(() => Directory.Delete(dir))));
            Assert.Equal("File exists", SystemErrorText.Describe(Capture(() => Directory.CreateDirectory(file))));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Describe_AnythingElse_NamesNoTypeAndQuotesNoMessage()
    {
        var text = SystemErrorText.Describe(new InvalidOperationException("Arg_ParamName_Name"));
        Assert.DoesNotContain("Arg_", text);
        Assert.DoesNotContain("Exception", text);
    }

    private static Exception Capture(Action action)
    {
        try
        {
            action();
        }
        catch (Exception e)
        {
            return e;
        }

        throw new InvalidOperationException("expected a failure");
    }
}
