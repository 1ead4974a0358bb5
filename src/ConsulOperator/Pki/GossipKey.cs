using System.Security.Cryptography;

namespace ConsulOperator.Pki;

/// <summary>The gossip encryption key: 32 random bytes, base64 with padding, as <c>consul keygen</c> prints it.</summary>
public static class GossipKey
{
    public const int Length = 32;

    public static string Generate() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(Length));

    /// <summary>Whether Consul accepts the key: standard base64 of 16, 24 or 32 bytes (AES-128, -192, -256).</summary>
    public static bool IsValid(string? key)
    {
        if (string.IsNullOrEmpty(key))
        {
            return false;
        }

        var buffer = new byte[key.Length];
        return Convert.TryFromBase64String(key, buffer, out var length) && length is 16 or 24 or 32;
    }
}
