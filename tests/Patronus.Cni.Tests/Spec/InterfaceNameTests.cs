using System.Text;
using Patronus.Cni.Spec;

namespace Patronus.Cni.Tests.Spec;

/// <summary>The kernel's dev_valid_name, in bytes of UTF-8, plus '%' and control characters.</summary>
public class InterfaceNameTests
{
    [Theory]
    [InlineData("eth0")]
    [InlineData("a")]
    [InlineData("abcdefghijklmno")] // 15 bytes: the most IFNAMSIZ leaves room for
    [InlineData("ééééééé")] // 14 bytes
    [InlineData("net-1_x.y")]
    [InlineData("...")]
    [InlineData("😀😀😀")] // 12 bytes
    public void Valid_NamesTheKernelTakesAsTheyAre(string name) => Assert.Null(InterfaceName.Problem(name, "f"));

    [Theory]
    [InlineData("", "f is empty")]
    [InlineData("abcdefghijklmnop", "is 16 characters long; Linux allows at most 15")]
    [InlineData("éééééééé", "is 8 characters but 16 bytes long in UTF-8")]
    [InlineData(".", "\".\" and \"..\" are reserved")]
    [InlineData("..", "\".\" and \"..\" are reserved")]
    [InlineData("a/b", "it holds '/'")]
    [InlineData("a:b", "it holds ':'")]
    [InlineData("eth%d", "it holds '%' (the kernel would take the name as a template")]
    [InlineData("a b", "whitespace (U+0020)")]
    [InlineData("a\tb", "control character U+0009")]
    [InlineData("a\u000bb", "control character U+000B")]
    [InlineData("a\u007fb", "control character U+007F")]
    [InlineData("a\u0085b", "control character U+0085")]
    [InlineData("a\u00a0b", "whitespace (U+00A0)")]
    [InlineData("a\u2003b", "whitespace (U+2003)")]
    [InlineData("a\u3000b", "whitespace (U+3000)")]
    [InlineData("àb", "the UTF-8 encoding of 'à' holds the byte 0xA0")]
    [InlineData("\ud800x", "it is not valid UTF-8")]
    public void Invalid_SaysWhy(string name, string why)
    {
        var problem = InterfaceName.Problem(name, "f");
        Assert.NotNull(problem);
        Assert.Contains(why, problem);
    }

    [Fact]
    public void EveryCharacterUpToU0800_IsJudgedAsTheKernelJudgesItsBytes()
    {
        // The kernel refuses '/', ':', the bytes its Latin-1 isspace accepts (9-13, 32, 0xA0), and nothing else in
        // a name; we refuse those, '%', control characters and Unicode whitespace on top.
        for (var c = 1; c < 0x800; c++)
        {
            var name = "a" + (char)c;
            var bytes = Encoding.UTF8.GetBytes(name);
            var kernelRefuses = bytes.Any(b => b is (byte)'/' or (byte)':' or 32 or 0xA0 || b is >= 9 and <= 13);
            var oursRefuses = InterfaceName.Problem(name, "f") is not null;
            var extra = c == '%' || char.IsControl((char)c) || char.IsWhiteSpace((char)c);
            Assert.True(oursRefuses == (kernelRefuses || extra), $"U+{c:X4}: kernel refuses {kernelRefuses}, we refuse {oursRefuses}");
        }
    }
}
