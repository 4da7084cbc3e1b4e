#!/usr/bin/python3
"""Turn off tx checksum offload of a kernel interface (ethtool -K IF tx off,
without ethtool): a veth peer would otherwise hand AF_PACKET TCP segments
with a partial checksum (CHECKSUM_PARTIAL), which the router's native TCP
rightly drops (rx_bad_csum). Usage: tx_csum_off.py IFNAME"""
import ctypes
import fcntl
import socket
import struct
import sys

SIOCETHTOOL = 0x8946
ETHTOOL_STXCSUM = 0x17

val = ctypes.create_string_buffer(struct.pack('II', ETHTOOL_STXCSUM, 0))
ifr = struct.pack('16sP', sys.argv[1].encode(), ctypes.addressof(val)) + b'\0' * 16
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
    fcntl.ioctl(s.fileno(), SIOCETHTOOL, ifr)
