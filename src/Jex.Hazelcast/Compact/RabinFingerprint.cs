using System.Buffers;
using System.Text;

namespace Jex.Hazelcast.Compact;

/// <summary>
/// The Rabin 64-bit fingerprint Hazelcast uses as a Compact schema id: over the type name, the
/// field count, then each field's name and kind id, in name order. Strings count as their UTF-8
/// byte length (int32, little-endian) followed by the bytes.
/// </summary>
internal static class RabinFingerprint
{
    public const ulong Init = 0xc15d213aa4d7a795UL;
    private static readonly ulong[] Table = BuildTable();

    private static ulong[] BuildTable()
    {
        var table = new ulong[256];
        for (int i = 0; i < 256; i++)
        {
            ulong fp = (ulong)i;
            for (int j = 0; j < 8; j++)
            {
                fp = (fp >> 1) ^ (Init & (0UL - (fp & 1)));
            }

            table[i] = fp;
        }

        return table;
    }

    public static long OfSchema(string typeName, IReadOnlyList<FieldDescriptor> sortedFields)
    {
        ulong fp = OfString(Init, typeName);
        fp = OfInt(fp, sortedFields.Count);
        foreach (var field in sortedFields)
        {
            fp = OfString(fp, field.Name);
            fp = OfInt(fp, (int)field.Kind);
        }

        return unchecked((long)fp);
    }

    public static ulong OfByte(ulong fp, byte b) => (fp >> 8) ^ Table[(int)((fp ^ b) & 0xff)];

    public static ulong OfInt(ulong fp, int value)
    {
        fp = OfByte(fp, (byte)value);
        fp = OfByte(fp, (byte)(value >> 8));
        fp = OfByte(fp, (byte)(value >> 16));
        return OfByte(fp, (byte)(value >> 24));
    }

    public static ulong OfString(ulong fp, string value)
    {
        int count = Encoding.UTF8.GetByteCount(value);
        byte[] rented = ArrayPool<byte>.Shared.Rent(count);
        try
        {
            int written = Encoding.UTF8.GetBytes(value, rented);
            fp = OfInt(fp, written);
            for (int i = 0; i < written; i++)
            {
                fp = OfByte(fp, rented[i]);
            }

            return fp;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
