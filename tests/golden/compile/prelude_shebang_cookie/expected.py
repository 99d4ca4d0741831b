#!/usr/bin/env python
# -*- coding: utf-8 -*-
async def main():
    return await __dc_ckpt__(('helper', 4, 12), helper)

from durablec.runtime.abi import ckpt as __dc_ckpt__
async def helper():
    return "ok"
