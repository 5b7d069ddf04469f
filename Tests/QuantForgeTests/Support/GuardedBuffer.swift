import Foundation

/// A buffer whose last byte sits right before an inaccessible page, so that a kernel reading or
/// writing even one byte past the end faults instead of passing silently.
final class GuardedBuffer {
    let count: Int
    private let mapping: UnsafeMutableRawPointer
    private let mappingSize: Int
    let base: UnsafeMutableRawPointer

    init(count: Int) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let dataPages = (max(count, 1) + page - 1) / page
        mappingSize = (dataPages + 1) * page
        mapping = mmap(nil, mappingSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)!
        precondition(mapping != MAP_FAILED)
        precondition(mprotect(mapping + dataPages * page, page, PROT_NONE) == 0)
        self.count = count
        base = mapping + dataPages * page - count
    }

    convenience init(_ bytes: [UInt8]) {
        self.init(count: bytes.count)
        bytes.withUnsafeBytes { base.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
    }

    deinit { munmap(mapping, mappingSize) }

    var raw: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }
    var mutableRaw: UnsafeMutableRawBufferPointer { UnsafeMutableRawBufferPointer(start: base, count: count) }
    var bytes: [UInt8] { Array(raw) }
}
