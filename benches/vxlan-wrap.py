#!/usr/bin/env python3
"""Wraps every frame of a classic little-endian pcap of Ethernet frames in
VXLAN (UDP 4789, VNI 4096) between 192.0.2.1 and 192.0.2.2, as a mirror
target receives them: the tunnelled-capture benchmark of the README.

Usage: benches/vxlan-wrap.py IN.pcap OUT.pcap"""
import struct,sys
src=open(sys.argv[1],'rb'); dst=open(sys.argv[2],'wb')
gh=src.read(24); dst.write(gh)
eth=b'\x02\x00\x00\x00\x00\x0b\x02\x00\x00\x00\x00\x0a\x08\x00'
while True:
    h=src.read(16)
    if len(h)<16: break
    ts,us,incl,orig=struct.unpack('<IIII',h)
    f=src.read(incl)
    pay=b'\x08\x00\x00\x00\x00\x10\x00\x00'+f
    udp=struct.pack('>HHHH',49152,4789,8+len(pay),0)+pay
    ip=struct.pack('>BBHHHBBH4s4s',0x45,0,20+len(udp),0,0x4000,64,17,0,bytes([192,0,2,1]),bytes([192,0,2,2]))+udp
    fr=eth+ip
    extra=len(fr)-incl
    dst.write(struct.pack('<IIII',ts,us,len(fr),orig+extra)); dst.write(fr)
