using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.OpenSsl;
using Org.BouncyCastle.X509;

namespace ConsulOperator.Pki;

/// <summary>PEM in and out. Private keys are written as SEC1 <c>EC PRIVATE KEY</c>, as <c>consul tls</c> writes them.</summary>
internal static class Pem
{
    public static string Write(object value)
    {
        using var text = new StringWriter();
        var writer = new PemWriter(text);
        writer.WriteObject(value);
        writer.Writer.Flush();
        return text.ToString().ReplaceLineEndings("\n");
    }

    public static X509Certificate ReadCertificate(string pem, string source) =>
        Read(pem, source) as X509Certificate ?? throw new KeyMaterialException($"{source}: no PEM certificate found");

    public static AsymmetricKeyParameter ReadPrivateKey(string pem, string source) => Read(pem, source) switch
    {
        AsymmetricCipherKeyPair pair => pair.Private,
        AsymmetricKeyParameter { IsPrivate: true } key => key,
        _ => throw new KeyMaterialException($"{source}: no PEM private key found"),
    };

    private static object? Read(string pem, string source)
    {
        try
        {
            return new PemReader(new StringReader(pem)).ReadObject();
        }
        catch (Exception e) when (e is IOException or PemException or ArgumentException or InvalidCastException)
        {
            throw new KeyMaterialException($"{source}: unreadable PEM ({e.Message})");
        }
    }
}
