#!/usr/bin/env python
# -*- coding: utf-8 -*-
async def main():
    return await helper()


async def helper():
    return "ok"
